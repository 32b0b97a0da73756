"""The reproduction study: ``python reproduce.py [fast=true]`` trains and evaluates every run of
src/levasa/conf/reproduce.yaml and writes docs/RESULTS.md."""

from levasa.apps.reproduce import main

if __name__ == "__main__":
    main()
