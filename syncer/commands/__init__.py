"""One module per user job."""
