"""The scoring service (`tfgbv-serve`): Perspective-API-compatible and native endpoints over the batch-scoring path."""
