"""An independent Automation Runs service, written from the vendor's page alone, and its tests."""
