"""The instance side: an annex's workers as EC2 instances (AwsProvider and its pieces)."""
