// Crash tests at every suspension point of a payment and a trade: see the next commit.
