"""The chain of phases that turns a parsed transcript into editorial drafts."""
