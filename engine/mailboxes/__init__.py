"""Many sending mailboxes: the password vault, provider presets, the add command's arguments
and ramp-up."""
