"""What the documents promise: the specs, their extensions and the catalogue of known quirks."""
