"""Storage: the only package that imports PynamoDB or talks to DynamoDB."""
