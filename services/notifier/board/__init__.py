"""The live problem board: a page for ops at /board, fed by server-sent events (docs/notifier.md#problem-board)."""
