"""Baking machine images for workers and seeds (annex image build)."""
