"""What the notifier keeps for shared insight beyond problems and feedback: transfers, and the weekly digest."""
