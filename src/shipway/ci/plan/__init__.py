"""Plans: the job DAG and matrix expansion. Pure: no I/O."""
