"""The operations console: operators, their sessions, and the pages at {base}/console."""
