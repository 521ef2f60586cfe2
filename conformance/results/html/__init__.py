"""The HTML report's rendering and charts."""
