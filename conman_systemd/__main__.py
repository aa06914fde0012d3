from conman_systemd.cli import main

main()
