"""Browser pages. For now a landing page; the editors' dashboard builds on this folder."""
