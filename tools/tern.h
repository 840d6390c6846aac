/*
 * tools/tern.h: the subcommands of the `tern` command. Each takes argc/argv with
 * argv[0] being the subcommand's name, prints to stdout/stderr, and returns the
 * process exit status. Tools use only the public headers (DESIGN.md §2).
 */
#ifndef TERN_TOOLS_TERN_H
#define TERN_TOOLS_TERN_H

int tern_cmd_demo(int argc, char **argv);
int tern_cmd_sysctl(int argc, char **argv);

#endif
