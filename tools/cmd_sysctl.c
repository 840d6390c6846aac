/*
 * tools/cmd_sysctl.c: `tern sysctl`, procps sysctl(8) for tern's knobs.
 *
 *   tern sysctl NAME...            NAME = VALUE, as procps prints it
 *   tern sysctl -a                 every knob
 *   tern sysctl -w NAME=VALUE...   check and set, then echo NAME = VALUE
 *   tern sysctl --markdown         docs/sysctl.md, generated from the knob table
 *
 * Output, messages and exit statuses are those of procps-ng 4 (measured with
 * procps-ng 4.0.2): a vector's values are separated by tabs, an unknown name gets
 * "sysctl: cannot stat /proc/sys/<path>: No such file or directory" on stderr, a
 * refused value "sysctl: setting key "<name>": Invalid argument", and either makes
 * the exit status 1. A name that is a prefix ("net.ipv4") lists the knobs under it,
 * as reading a /proc/sys directory does. -n prints values only, -N names only, -q
 * keeps writes quiet, -e ignores unknown names.
 *
 * The formatting is tern_tool_sysctl, which acts on whatever stack it is given: the
 * control server (tools/ctl.c) runs it against a live stack for the `sysctl` shim
 * and for `tern sysctl` when $TERN_CTL names an instance; without one, `tern sysctl`
 * runs it on a fresh stack holding the defaults, so a write is checked and echoed
 * but does not outlive the command. As a shim it answers help and bad options as
 * procps does (usage on stdout, status 0 after a bad option); as `tern sysctl` it
 * keeps tern's own usage text.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "tern.h"
#include "tern/sysctl.h"
#include "tern/tern.h"

struct sysctl_opts {
	FILE *out, *err;
	bool values_only;       /* -n */
	bool names_only;        /* -N */
	bool quiet;             /* -q */
	bool ignore_unknown;    /* -e */
	bool write;             /* -w */
	bool binary;            /* -b */
};

/* The shim's help, laid out as procps lays out its own. */
static void procps_usage(FILE *out)
{
	fputs("\n"
	      "Usage:\n"
	      " sysctl [options] [variable[=value] ...]\n"
	      "\n"
	      "Options:\n"
	      "  -a, --all            show every knob of the tern instance\n"
	      "  -A                   same as -a\n"
	      "  -X                   same as -a\n"
	      "  -b, --binary         print the value with no newline after it\n"
	      "  -e, --ignore         say nothing about unknown names\n"
	      "  -N, --names          print names only\n"
	      "  -n, --values         print values only\n"
	      "  -q, --quiet          print nothing for writes\n"
	      "  -w, --write          set variable=value\n"
	      "  -o                   ignored\n"
	      "  -x                   ignored\n"
	      "  -d                   same as -h\n"
	      "\n"
	      " -h, --help     show this text\n"
	      " -V, --version  show the version\n"
	      "\n"
	      "tern's sysctl: it reads and sets the knobs of the tern instance named by\n"
	      "$TERN_CTL; docs/sysctl.md lists them.\n", out);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tern sysctl [options] [NAME[=VALUE] ...]\n"
		"\n"
		"Reads and writes tern's knobs as procps sysctl(8) does; names are Linux's\n"
		"(net.ipv4.tcp_syncookies, or the path form net/ipv4/tcp_syncookies).\n"
		"With $TERN_CTL naming a tern instance it acts on that instance's stack;\n"
		"without, on a fresh stack holding the default values.\n"
		"\n"
		"options:\n"
		"  -a, --all         print every knob (-A and -X are the same)\n"
		"  -w, --write       set NAME=VALUE (an argument with '=' is a write anyway)\n"
		"  -n, --values      print values only\n"
		"  -N, --names       print names only\n"
		"  -q, --quiet       print nothing for writes\n"
		"  -e, --ignore      ignore unknown names\n"
		"      --markdown    print the knob reference (docs/sysctl.md)\n"
		"  -h, --help        this text\n");
}

/* The /proc/sys path procps names in its "cannot stat" message: a dotted name has
 * its dots and slashes swapped, a name that starts as a path is kept. */
static void print_unknown(const struct sysctl_opts *o, const char *name)
{
	size_t sep = strcspn(name, "./");
	bool dotted = name[sep] == '.';

	fputs("sysctl: cannot stat /proc/sys/", o->err);
	for (const char *p = name; *p; p++) {
		char c = *p;
		if (dotted && c == '.')
			c = '/';
		else if (dotted && c == '/')
			c = '.';
		fputc(c, o->err);
	}
	fputs(": No such file or directory\n", o->err);
}

static void print_setting(const struct sysctl_opts *o, const char *name, const char *value)
{
	if (o->binary)                  /* procps -b: the bare value, no newline */
		fputs(value, o->out);
	else if (o->names_only)
		fprintf(o->out, "%s\n", name);
	else if (o->values_only)
		fprintf(o->out, "%s\n", value);
	else
		fprintf(o->out, "%s = %s\n", name, value);
}

static int show_knob(const struct sysctl_opts *o, const struct tern_stack *st,
		     const struct tern_sysctl_info *k)
{
	char value[256];
	int n = tern_sysctl_get(st, k->name, value, sizeof(value));
	if (n < 0) {
		fprintf(o->err, "sysctl: reading key \"%s\": %s\n", k->name, tern_strerror(n));
		return 1;
	}
	print_setting(o, k->name, value);
	return 0;
}

/* Knobs under a prefix ("net.ipv4" or "net/ipv4"), as for a /proc/sys directory. */
static int show_prefix(const struct sysctl_opts *o, const struct tern_stack *st,
		       const char *prefix, bool *found)
{
	size_t len = strlen(prefix);
	int rc = 0;

	*found = false;
	while (len && (prefix[len - 1] == '.' || prefix[len - 1] == '/'))
		len--;
	if (!len)
		return 0;
	for (int i = 0; i < tern_sysctl_count(); i++) {
		const struct tern_sysctl_info *k = tern_sysctl_at(i);
		bool match = strlen(k->name) > len && k->name[len] == '.';
		for (size_t j = 0; match && j < len; j++) {
			char c = prefix[j] == '/' ? '.' : prefix[j];
			match = c == k->name[j];
		}
		if (match) {
			*found = true;
			rc |= show_knob(o, st, k);
		}
	}
	return rc;
}

static int read_one(const struct sysctl_opts *o, const struct tern_stack *st, const char *name)
{
	const struct tern_sysctl_info *k = tern_sysctl_find(name);
	if (k)
		return show_knob(o, st, k);

	bool found;
	int rc = show_prefix(o, st, name, &found);
	if (found)
		return rc;
	if (o->ignore_unknown)
		return 0;
	print_unknown(o, name);
	return 1;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	char *end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

static int write_one(const struct sysctl_opts *o, struct tern_stack *st, const char *arg)
{
	char buf[1024];
	char *eq;

	if (strlen(arg) >= sizeof(buf) || !(eq = strchr(strcpy(buf, arg), '='))) {
		fputs("sysctl: command line(0): invalid syntax, continuing...\n", o->err);
		return 1;
	}
	*eq = '\0';
	char *name = trim(buf), *value = trim(eq + 1);
	if (!*name) {
		fputs("sysctl: command line(0): invalid syntax, continuing...\n", o->err);
		return 1;
	}

	const struct tern_sysctl_info *k = tern_sysctl_find(name);
	if (!k) {
		if (o->ignore_unknown)
			return 0;
		print_unknown(o, name);
		return 1;
	}
	int err = tern_sysctl_set(st, name, value);
	if (err < 0) {
		fprintf(o->err, "sysctl: setting key \"%s\": %s\n", k->name, tern_strerror(err));
		return 1;
	}
	if (!o->quiet)
		print_setting(o, k->name, value);
	return 0;
}

/* ------------------------------------------------------------ docs/sysctl.md */

static void md_range(const struct tern_sysctl_info *k)
{
	if (k->words) {
		for (int w = 0; k->words[w]; w++)
			printf("%s`%s`", w ? ", " : "", k->words[w]);
		return;
	}
	printf("%lld .. %lld", k->min, k->max);
	if (k->nvalues > 1)
		printf(" each");
}

static void md_default(const struct tern_sysctl_info *k)
{
	if (k->words) {
		printf("`%s`", k->default_word);
		return;
	}
	for (int j = 0; j < k->nvalues; j++)
		printf("%s%lld", j ? " " : "", k->defaults[j]);
}

static void print_markdown(void)
{
	fputs(
"# tern's sysctl knobs\n"
"\n"
"<!-- Generated by `tern sysctl --markdown` from src/sysctl/table.h; edit the table,\n"
"     then regenerate this file. tests/shell/sysctl_doc.sh checks that they agree. -->\n"
"\n"
"tern keeps Linux's knobs under Linux's names, with the defaults of Linux 6.x and the\n"
"same meanings, so a line from sysctl.conf or a conformance script's `sysctl -w` means\n"
"to tern what it means to the kernel. Knobs Linux does not have live under `tern.`.\n"
"Each stack has its own values (as each Linux network namespace has), read and written\n"
"with `tern_sysctl_get` and `tern_sysctl_set` (include/tern/sysctl.h) or with\n"
"`tern sysctl`, which behaves like procps sysctl(8):\n"
"\n"
"    tern sysctl net.ipv4.tcp_rmem              # net.ipv4.tcp_rmem = 4096<TAB>131072<TAB>6291456\n"
"    tern sysctl net/ipv4/tcp_sack              # the /proc/sys path form works too\n"
"    tern sysctl net.ipv4                       # every knob under a prefix\n"
"    tern sysctl -a                             # every knob\n"
"    tern sysctl -w net.ipv4.tcp_syncookies=2   # checked, then set\n"
"\n"
"With `$TERN_CTL` naming a running tern instance's control socket (as `tern script`\n"
"sets it for a script's shell commands), the command reads and sets that instance's\n"
"knobs; without it, it acts on a fresh stack holding the defaults.\n"
"\n"
"## Values\n"
"\n"
"Values are text, as in /proc/sys. A knob holding several integers shows them\n"
"separated by tabs and accepts them separated by any whitespace. Integers are written\n"
"in decimal with an optional sign; the count must be exact and every integer must lie\n"
"in the knob's range, or the write is refused with `-EINVAL` and nothing changes.\n"
"Word-valued knobs take one of the listed words. An unknown name is `-ENOENT`.\n"
"\n"
"Ranges are Linux's where the kernel enforces one. Where Linux limits a knob only by\n"
"its storage type (a byte, an int) or not at all, tern accepts just the values that\n"
"mean something, and the description says *tern bound*.\n"
"\n"
"## Defaults Linux derives from memory\n"
"\n"
"At boot Linux sizes its established-connection hash at about one bucket per 128 KiB\n"
"of RAM, rounded up to a power of two and capped at 524288, and derives three limits\n"
"from it: `tcp_max_tw_buckets` and `tcp_max_orphans` are half the buckets,\n"
"`tcp_max_syn_backlog` is max(128, buckets / 128). tern's defaults are those of a\n"
"24 GiB host, the size of the Linux 6.18 machine tern's measurements come from:\n"
"262144 buckets, so 131072, 131072 and 2048. Other sizes give, for example:\n"
"\n"
"| RAM | buckets | tcp_max_tw_buckets, tcp_max_orphans | tcp_max_syn_backlog |\n"
"|---|---|---|---|\n"
"| 2 GiB | 16384 | 8192 | 128 |\n"
"| 16 GiB | 131072 | 65536 | 1024 |\n"
"| 24 GiB | 262144 | 131072 | 2048 |\n"
"| 64 GiB or more | 524288 | 262144 | 4096 |\n"
"\n"
"The socket-buffer floors of `net.core.rmem_*` (2304) and `net.core.wmem_*` (4608)\n"
"are Linux's on x86-64, where they follow from the size of `struct sk_buff`.\n"
"\n"
"## Knobs\n"
"\n"
"| Knob | Default | Range | Unit | Meaning |\n"
"|---|---|---|---|---|\n", stdout);

	for (int i = 0; i < tern_sysctl_count(); i++) {
		const struct tern_sysctl_info *k = tern_sysctl_at(i);
		printf("| `%s` | ", k->name);
		md_default(k);
		printf(" | ");
		md_range(k);
		printf(" | %s | %s |\n", *k->unit ? k->unit : "-", k->doc);
	}
}

/* ------------------------------------------------------------ the command */

static const struct tern_tool_longopt sysctl_longopts[] = {
	{ "all", false, 'a' }, { "binary", false, 'b' }, { "ignore", false, 'e' },
	{ "names", false, 'N' }, { "values", false, 'n' }, { "quiet", false, 'q' },
	{ "write", false, 'w' }, { "help", false, 'h' }, { "version", false, 'V' },
	{ "load", true, 'p' }, { "system", false, 256 }, { "pattern", true, 'r' },
	{ "deprecated", false, 257 }, { "dry-run", false, 258 }, { NULL, false, 0 },
};

int tern_tool_sysctl(struct tern_stack *st, int argc, char **argv, FILE *out, FILE *err)
{
	struct sysctl_opts o = { .out = out, .err = err };
	/* argv[0] "tern sysctl": the local command, with tern's own help. */
	bool tern_cli = argc > 0 && !strcmp(argv[0], "tern sysctl");
	const char *invoked = argc > 0 ? argv[0] : "sysctl";
	struct tern_tool_getopt g;
	bool all = false;
	int c, rc = 0;
	char **names = calloc((size_t)argc + 1, sizeof(char *));

	if (!names) {
		fputs("sysctl: out of memory\n", err);
		return 1;
	}
	tern_tool_getopt_init(&g, argc, argv, names, "sysctl", err);
	while ((c = tern_tool_getopt(&g, "bneNwfpqoxaAXr:Vdh", sysctl_longopts)) != -1) {
		switch (c) {
		case 'a': case 'A': case 'X': all = true; break;
		case 'b': o.binary = true; break;
		case 'w': o.write = true; break;
		case 'n': o.values_only = true; break;
		case 'N': o.names_only = true; break;
		case 'q': o.quiet = true; break;
		case 'e': o.ignore_unknown = true; break;
		case 'o': case 'x': break;
		case 'V':
			fprintf(out, "sysctl from tern %s\n", TERN_VERSION);
			goto done;
		case 'h': case 'd':
			if (tern_cli)
				usage(out);
			else
				procps_usage(out);
			goto done;
		case '?':
			/* procps follows a bad option with its help on stdout, status 0. */
			if (tern_cli) {
				usage(err);
				rc = 1;
			} else {
				procps_usage(out);
			}
			goto done;
		default:
			/* -p, --system, -r, --dry-run, --deprecated: files and patterns
			 * of the host, not of a tern stack. */
			if (c >= 256) {
				for (const struct tern_tool_longopt *l = sysctl_longopts; l->name; l++)
					if (l->key == c)
						fprintf(err, "sysctl: option '--%s' is not supported by tern\n",
							l->name);
			} else {
				fprintf(err, "sysctl: option '-%c' is not supported by tern\n", c);
			}
			rc = 1;
			goto done;
		}
	}
	if (!all && !g.nops) {
		if (argc <= 1) {
			if (tern_cli)
				usage(err);
			else
				procps_usage(err);
		} else {
			fprintf(err, "sysctl: no variables specified\n"
				     "Try `%s --help' for more information.\n", invoked);
		}
		rc = 1;
		goto done;
	}

	if (all) {
		for (int i = 0; i < tern_sysctl_count(); i++)
			rc |= show_knob(&o, st, tern_sysctl_at(i));
	} else {
		for (int i = 0; i < g.nops; i++) {
			if (o.write || strchr(names[i], '='))
				rc |= write_one(&o, st, names[i]);
			else
				rc |= read_one(&o, st, names[i]);
		}
	}
done:
	free(names);
	return rc;
}

static void drop_packet(void *ctx, tern_time now, const uint8_t *pkt, size_t len)
{
	(void)ctx, (void)now, (void)pkt, (void)len;
}

int tern_cmd_sysctl(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--markdown")) {
			print_markdown();
			return 0;
		}
	}
	/* With an instance, act on its stack, as the `sysctl` shim does. */
	const char *ctl = getenv("TERN_CTL");
	if (ctl && *ctl)
		return tern_ctl_client(argc, argv);

	struct tern_stack_config cfg;
	struct tern_stack *st;
	tern_stack_config_init(&cfg);
	cfg.addr = tern_addr_v4(10, 0, 0, 1);
	cfg.emit = drop_packet;
	int err = tern_stack_create(&cfg, &st);
	if (err < 0) {
		fprintf(stderr, "tern sysctl: cannot create a stack: %s\n", tern_strerror(err));
		return 1;
	}
	char **args = calloc((size_t)argc + 1, sizeof(char *));
	if (!args) {
		tern_stack_destroy(st);
		fputs("tern sysctl: out of memory\n", stderr);
		return 1;
	}
	args[0] = (char *)"tern sysctl";
	for (int i = 1; i < argc; i++)
		args[i] = argv[i];
	int rc = tern_tool_sysctl(st, argc, args, stdout, stderr);
	free(args);
	tern_stack_destroy(st);
	return rc;
}
