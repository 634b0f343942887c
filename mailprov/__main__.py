from mailprov.cli import main

main()
