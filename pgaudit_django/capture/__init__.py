"""Change capture: from a registered model to the SQL of its audit triggers."""
