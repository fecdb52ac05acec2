"""Domain rules: pure, no database, no framework."""
