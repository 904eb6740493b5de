"""What the older runtime's tables mean (columns, wall-clock times, forwarding set-up,
filter rules): shared by the engines' in-place migration and the domain's import."""
