# Automake fragment included by the top Makefile.am (append with +=).
