from neurodose.cli.main import main

main()
