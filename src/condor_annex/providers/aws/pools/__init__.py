"""Whole pools in the cloud: one CloudFormation stack per pool (create, update, delete, list)."""
