"""The shared machinery every chapter runs on: profiles and seeds, random streams, training, parallel
runs, claims and verdicts, result records, atomic files, figures, glued numbers and notebook tidying.

Nothing here imports a chapter or a block.
"""
