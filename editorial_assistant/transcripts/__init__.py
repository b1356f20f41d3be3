"""Caption files: parsing, Media IDs, storage and intake."""
