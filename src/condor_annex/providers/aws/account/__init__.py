"""The account side of one region: setup, check-setup, teardown and the inventory."""
