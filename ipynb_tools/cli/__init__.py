"""Command-line front ends: parse arguments, call the library, print, exit.

One module per command. Modules import heavy libraries (pandas, docker,
nbconvert) only inside the command functions, so ``--help`` stays fast.
"""
