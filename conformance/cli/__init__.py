"""The command line: arguments, the config file and everything printed."""
