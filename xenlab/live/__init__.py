"""The live parts of stage 9: the guest console (console, guest) and the network probe
(probe) that prove a migration kept the guest alive."""
