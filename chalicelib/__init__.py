"""Dongne: the corner store, online. Application package deployed with the Lambda functions."""
