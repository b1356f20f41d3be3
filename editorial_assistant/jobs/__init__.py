"""Jobs: the durable state machine, the queue that feeds it, recovery and the job API."""
