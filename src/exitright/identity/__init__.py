"""Identity verification: one-time codes, channels, and recycled-identifier status."""
