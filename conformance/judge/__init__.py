"""Pure judgement of responses against the contract: no I/O."""
