from spectm.cli import main

main()
