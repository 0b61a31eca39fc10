from contactpoint.cli import main

main()
