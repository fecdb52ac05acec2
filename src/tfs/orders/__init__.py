"""Orders: placement, status updates from vendors, reads and history."""
