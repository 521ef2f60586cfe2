"""What a run found, as results.json, JUnit, HTML and history read and write it."""
