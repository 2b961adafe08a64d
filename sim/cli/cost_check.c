/* placeholder until written */
int cmd_cost_check(int argc, char **argv);
int cmd_cost_check(int argc, char **argv) { (void)argc; (void)argv; return 1; }
