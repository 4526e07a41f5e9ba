/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shell.h"

/* ---- helpers ---- */

/* parse() - @text must parse; the caller frees the result */
static kn_sh_script parse(const char *text)
{
	kn_sh_script s;
	kn_error err = KN_ERROR_INIT;
	int r = kn_sh_parse(text, &s, &err);

	if (r != 0)
		fail_msg("'%s' refused (%d): %s", text, r, err.msg);
	return s;
}

/* render() - a command's argv joined by spaces (no quoting: tests with spaces inside words check argv itself) */
static char *render(const kn_sh_cmd *c)
{
	size_t len = 1;
	char *s;

	for (size_t i = 0; i < c->argc; i++)
		len += strlen(c->argv[i].text) + 1;
	s = calloc(1, len);
	assert_non_null(s);
	for (size_t i = 0; i < c->argc; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, c->argv[i].text);
	}
	return s;
}

/*
 * expect() - @text yields exactly these commands (argv joined by spaces), in
 * order; NULL ends the list: expect("a | b", "a", "b", NULL).  A macro over
 * an array, not a variadic function: NULL is not a safe variadic sentinel.
 */
#define expect(text, ...) expect_list((text), (const char *const[]){ __VA_ARGS__ })

static void expect_list(const char *text, const char *const *want)
{
	kn_sh_script s = parse(text);
	size_t i = 0;

	for (; want[i]; i++) {
		char *got;

		if (i >= s.n)
			fail_msg("'%s': %zu commands, expected at least %zu (missing '%s')", text, s.n, i + 1, want[i]);
		got = render(&s.cmds[i]);
		if (strcmp(got, want[i]))
			fail_msg("'%s': command %zu is '%s', expected '%s'", text, i, got, want[i]);
		free(got);
	}
	if (i != s.n) {
		char *extra = render(&s.cmds[i]);

		fail_msg("'%s': %zu commands, expected %zu (first extra: '%s')", text, s.n, i, extra);
	}
	assert_false(s.truncated);
	kn_sh_script_free(&s);
}

/* refused() - @text fails with @code, the message holding @what and naming offset @off */
static void refused(const char *text, int code, const char *what, size_t off)
{
	kn_sh_script s;
	kn_error err = KN_ERROR_INIT;
	char at[48];
	int r = kn_sh_parse(text, &s, &err);

	if (r != -code)
		fail_msg("'%s': expected %d, got %d (%s)", text, -code, r, err.msg);
	assert_int_equal(s.n, 0);
	assert_null(s.cmds);
	if (!strstr(err.msg, what))
		fail_msg("'%s': message '%s' lacks '%s'", text, err.msg, what);
	snprintf(at, sizeof(at), "at offset %zu", off);
	if (!strstr(err.msg, at))
		fail_msg("'%s': message '%s' does not say '%s'", text, err.msg, at);
}

/* word() - argv[@j] of command @i, which must exist */
static const kn_sh_word *word(const kn_sh_script *s, size_t i, size_t j)
{
	assert_true(i < s->n);
	assert_true(j < s->cmds[i].argc);
	return &s->cmds[i].argv[j];
}

/* one_word() - the only command of @text has @want as argv[@j], with these flags */
static void one_word(const char *text, size_t j, const char *want, bool dynamic, bool quoted)
{
	kn_sh_script s = parse(text);
	const kn_sh_word *w = word(&s, 0, j);

	if (strcmp(w->text, want) || w->dynamic != dynamic || w->quoted != quoted)
		fail_msg("'%s': argv[%zu] is '%s' dynamic=%d quoted=%d, expected '%s' dynamic=%d quoted=%d", text, j,
			 w->text, w->dynamic, w->quoted, want, dynamic, quoted);
	kn_sh_script_free(&s);
}

/* find_cmd() - index of the first command whose argv renders as @want */
static size_t find_cmd(const kn_sh_script *s, const char *want)
{
	for (size_t i = 0; i < s->n; i++) {
		char *got = render(&s->cmds[i]);
		bool eq = !strcmp(got, want);

		free(got);
		if (eq)
			return i;
	}
	fail_msg("no command '%s' among %zu", want, s->n);
	return 0;
}

/* placed() - in @text, the command @want has this nesting, origin and wrappers */
static void placed(const char *text, const char *want, unsigned depth, kn_sh_origin origin, const char *wrappers)
{
	kn_sh_script s = parse(text);
	const kn_sh_cmd *c = &s.cmds[find_cmd(&s, want)];

	if (c->depth != depth || c->origin != origin)
		fail_msg("'%s': '%s' at depth %u origin %d, expected %u and %d", text, want, c->depth, c->origin, depth,
			 origin);
	if (wrappers ? !c->wrappers || strcmp(c->wrappers, wrappers) : c->wrappers != NULL)
		fail_msg("'%s': '%s' wrappers '%s', expected '%s'", text, want, c->wrappers ? c->wrappers : "(null)",
			 wrappers ? wrappers : "(null)");
	kn_sh_script_free(&s);
}

/* ---- words and quoting ---- */

static void test_words(void **state)
{
	(void) state;
	expect("echo hello world", "echo hello world", NULL);
	expect("  echo\thello   world  ", "echo hello world", NULL);
	one_word("echo 'a b'", 1, "a b", false, true);
	one_word("echo \"a b\"", 1, "a b", false, true);
	one_word("echo a\\ b", 1, "a b", false, true);
	one_word("echo \"a\\\"b\\\\c\\$d\\`e\"", 1, "a\"b\\c$d`e", false, true);
	one_word("echo \"a\\nb\"", 1, "a\\nb", false, true);   /* other backslashes stay inside "" */
	one_word("echo 'a\\nb'", 1, "a\\nb", false, true);
	one_word("echo '$HOME'", 1, "$HOME", false, true);
	one_word("echo \"$HOME\"", 1, "$HOME", true, true);
	one_word("echo $HOME/x", 1, "$HOME/x", true, false);
	one_word("echo ${HOME}", 1, "${HOME}", true, false);
	one_word("echo $1$@$?$#$$", 1, "$1$@$?$#$$", true, false);
	one_word("echo $", 1, "$", false, false);
	one_word("echo \"a$\"", 1, "a$", false, true);
	one_word("echo $'a\\tb\\'c'", 1, "a\tb'c", false, true);
	one_word("echo $\"x y\"", 1, "x y", false, true);
	one_word("echo ''", 1, "", false, true);
	one_word("echo a''b\"\"c", 1, "abc", false, true);
	one_word("echo a#b", 1, "a#b", false, false);
	one_word("echo a\\", 1, "a\\", false, true);
	one_word("echo ~", 1, "~", false, false);
	one_word("echo ~/x", 1, "~/x", false, false);
}

static void test_globs(void **state)
{
	(void) state;
	one_word("echo *.c", 1, "*.c", true, false);
	one_word("echo \"*.c\"", 1, "*.c", false, true);
	one_word("echo '*'", 1, "*", false, true);
	one_word("echo \\*", 1, "*", false, true);
	one_word("echo x?", 1, "x?", true, false);
	one_word("echo [ab]", 1, "[ab]", true, false);
	one_word("[ -f x ]", 0, "[", false, false);
	one_word("[ -f x ]", 3, "]", false, false);
	one_word("echo {a,b}", 1, "{a,b}", true, false);
	one_word("echo x{1..3}", 1, "x{1..3}", true, false);
	one_word("echo {}", 1, "{}", false, false);
	one_word("git log @{u}", 2, "@{u}", false, false);
	one_word("ls !(*.txt)", 1, "!(*.txt)", true, false);
	one_word("ls @(a|b)", 1, "@(a|b)", true, false);
	one_word("rm -rf /*", 2, "/*", true, false);
}

/*
 * What obfuscated command names yield.  Quote removal is applied, so the
 * first group is plain rm (and is checked by the rules as rm); expansions
 * are not, so the second group stays as written, marked dynamic.
 */
static void test_obfuscation(void **state)
{
	(void) state;
	one_word("r''m -rf /", 0, "rm", false, true);
	one_word("r\"\"m -rf /", 0, "rm", false, true);
	one_word("\\rm -rf /", 0, "rm", false, true);
	one_word("\"r\"m -rf /", 0, "rm", false, true);
	one_word("'rm' -rf /", 0, "rm", false, true);
	one_word("r\\m -rf /", 0, "rm", false, true);
	one_word("r\\\nm -rf /", 0, "rm", false, false);
	one_word("$'\\x72m' -rf /", 0, "rm", false, true);
	one_word("$'\\162m' -rf /", 0, "rm", false, true);
	one_word("$'\\u0072m' -rf /", 0, "rm", false, true);
	one_word("$'r\\x00zz'm -rf /", 0, "rm", false, true); /* bash cuts a $'' string at NUL */
	one_word("$'\\cA'", 0, "\x01", false, true);
	one_word("r{m,} -rf /", 0, "r{m,}", true, false);
	one_word("$CMD -rf /", 0, "$CMD", true, false);
	one_word("${X:-rm} -rf /", 0, "${X:-rm}", true, false);
	one_word("/bin/r? -rf /", 0, "/bin/r?", true, false);
	expect("\\sudo \\rm -rf /", "sudo rm -rf /", "rm -rf /", NULL);
	expect("\"sudo\" 'rm' -rf /", "sudo rm -rf /", "rm -rf /", NULL);
	placed("\\sudo \\rm -rf /", "rm -rf /", 1, KN_SH_WRAPPER, "sudo");
}

static void test_dynamic_command(void **state)
{
	kn_sh_script s;

	(void) state;
	s = parse("\"$(which rm)\" -rf /");
	assert_int_equal(s.n, 2);
	assert_string_equal(word(&s, 0, 0)->text, "$(which rm)");
	assert_true(word(&s, 0, 0)->dynamic);
	assert_true(word(&s, 0, 0)->quoted);
	assert_string_equal(word(&s, 0, 1)->text, "-rf");
	assert_int_equal(s.cmds[1].origin, KN_SH_SUBST);
	assert_int_equal(s.cmds[1].depth, 1);
	kn_sh_script_free(&s);
	expect("\"$(which rm)\" -rf /", "$(which rm) -rf /", "which rm", NULL);
	expect("`which rm` -rf /", "`which rm` -rf /", "which rm", NULL);
	one_word("`which rm` -rf /", 0, "`which rm`", true, false);
	/* a dynamic name is never unwrapped or looked into */
	expect("$SUDO rm -rf /", "$SUDO rm -rf /", NULL);
	expect("$SH -c 'rm -rf /'", "$SH -c rm -rf /", NULL);
	/* eval of a variable: the command it runs is dynamic */
	s = parse("eval \"$X\"");
	assert_int_equal(s.n, 2);
	assert_string_equal(word(&s, 1, 0)->text, "$X");
	assert_true(word(&s, 1, 0)->dynamic);
	assert_int_equal(s.cmds[1].origin, KN_SH_EVAL);
	kn_sh_script_free(&s);
}

/* ---- strings inside arguments are not commands ---- */

static void test_quoted_strings(void **state)
{
	(void) state;
	expect("grep \"rm -rf /\" x", "grep rm -rf / x", NULL);
	one_word("grep \"rm -rf /\" x", 1, "rm -rf /", false, true);
	expect("git commit -m \"drop table users\"", "git commit -m drop table users", NULL);
	expect("echo '$(rm -rf /)'", "echo $(rm -rf /)", NULL);
	expect("echo '`rm -rf /`'", "echo `rm -rf /`", NULL);
	expect("echo 'sh -c \"rm -rf /\"'", "echo sh -c \"rm -rf /\"", NULL);
	expect("echo \"a; rm -rf / && b | c\"", "echo a; rm -rf / && b | c", NULL);
}

static void test_substitution(void **state)
{
	kn_sh_script s;

	(void) state;
	expect("echo \"$(rm -rf /)\"", "echo $(rm -rf /)", "rm -rf /", NULL);
	expect("echo $(rm -rf /)", "echo $(rm -rf /)", "rm -rf /", NULL);
	expect("echo `rm -rf /`", "echo `rm -rf /`", "rm -rf /", NULL);
	/* outer before inner, in text order */
	expect("a $(b $(c)) x; d", "a $(b $(c)) x", "b $(c)", "c", "d", NULL);
	expect("a `b \\`c\\``; d", "a `b \\`c\\``", "b `c`", "c", "d", NULL);
	placed("a $(b $(c))", "c", 2, KN_SH_SUBST, NULL);
	placed("a \"`b`\"", "b", 1, KN_SH_SUBST, NULL);
	/* substitutions in assignments, redirections, parameter expansions, arithmetic */
	expect("X=$(rm x)", "", "rm x", NULL);
	expect("X=$(rm x) cmd", "cmd", "rm x", NULL);
	expect("cat > \"$(rm x)\"", "cat", "rm x", NULL);
	expect("echo ${x:-$(rm -rf /)}", "echo ${x:-$(rm -rf /)}", "rm -rf /", NULL);
	expect("echo \"${x:-\"$(rm y)\"}\"", "echo ${x:-\"$(rm y)\"}", "rm y", NULL);
	expect("echo $(( 1 + $(rm y) ))", "echo $(( 1 + $(rm y) ))", "rm y", NULL);
	one_word("echo $((1+2))", 1, "$((1+2))", true, false);
	/* $(( that is not arithmetic is a subshell in a substitution */
	expect("echo $((echo a) | b)", "echo $((echo a) | b)", "echo a", "b", NULL);
	/* process substitution */
	expect("diff <(ls a) <(ls b)", "diff <(ls a) <(ls b)", "ls a", "ls b", NULL);
	expect("tee >(sh) < x", "tee >(sh)", "sh", NULL);
	/* case inside $( ): its ) does not close the substitution */
	expect("echo $(case x in a) rm a;; esac)", "echo $(case x in a) rm a;; esac)", "rm a", NULL);
	/* comments inside $( ) */
	expect("echo $(ls # a ) b\n)", "echo $(ls # a ) b\n)", "ls", NULL);
	s = parse("echo $(a | b)");
	assert_int_equal(s.n, 3);
	assert_int_equal(s.cmds[1].pipeline, s.cmds[2].pipeline);
	assert_int_not_equal(s.cmds[0].pipeline, s.cmds[1].pipeline);
	assert_int_equal(s.cmds[2].pipe_index, 1);
	kn_sh_script_free(&s);
}

/*
 * Where bash reads NAME[ as the start of a subscript (an assignment
 * position), everything up to the matching ] is one word: blanks, ; and #
 * included.  Elsewhere it is ordinary text.  Each case was checked against
 * bash 5.2: the command listed is the one bash runs.
 */
static void test_subscripts(void **state)
{
	(void) state;
	expect("x[ # ] ; rm -rf /", "x[ # ]", "rm -rf /", NULL);
	one_word("x[ # ] ; rm -rf /", 0, "x[ # ]", true, false);
	expect("x[\n# ] ; rm -rf /", "x[\n# ]", "rm -rf /", NULL);
	expect(">f x[ # ] ; rm -rf /", "x[ # ]", "rm -rf /", NULL);
	expect("2>&1 >f x[ # ] ; rm -rf /", "x[ # ]", "rm -rf /", NULL);
	expect("A=1 x[ # ] ; rm -rf /", "x[ # ]", "rm -rf /", NULL);
	expect("a=(x) x[ # ] ; rm -rf /", "x[ # ]", "rm -rf /", NULL);
	expect("true && x[ # ] ; rm -rf /", "true", "x[ # ]", "rm -rf /", NULL);
	expect("true | x[ # ] ; rm -rf /", "true", "x[ # ]", "rm -rf /", NULL);
	expect("{ x[ # ] ; rm -rf / ; }", "x[ # ]", "rm -rf /", NULL);
	expect("if x[ # ] ; then rm -rf / ; fi", "x[ # ]", "rm -rf /", NULL);
	expect("! x[ # ] ; rm -rf /", "x[ # ]", "rm -rf /", NULL);
	expect("time x[ # ] ; rm -rf /", "x[ # ]", "rm -rf /", NULL);
	expect("time -p x[ # ] ; rm -rf /", "x[ # ]", "rm -rf /", NULL);
	expect("case a in a) x[ # ] ; rm -rf / ;; esac", "x[ # ]", "rm -rf /", NULL);
	expect("coproc cat x[ # ] ; rm -rf /", "coproc cat x[ # ]", "cat x[ # ]", "rm -rf /", NULL);
	expect("x[ [ # ] ] ; rm -rf /", "x[ [ # ] ]", "rm -rf /", NULL);
	expect("x[ ' ] # ' ] ; rm -rf /", "x[ ' ] # ' ]", "rm -rf /", NULL);
	expect("x[$(echo ]) ; rm a)] ; rm -rf /", "x[$(echo ]) ; rm a)]", "echo ]", "rm -rf /", NULL);
	/* ...and where the subscript is one word, what it swallows is not a command */
	expect("x[ ; rm -rf / ; ]", "x[ ; rm -rf / ; ]", NULL);
	expect("time x[ ; rm -rf / ; ]", "x[ ; rm -rf / ; ]", NULL);
	/* not an assignment position: x[ ends at the blank */
	expect("echo x[ ; rm -rf / ; ]", "echo x[", "rm -rf /", "]", NULL);
	expect("x=1 >f y[ ; rm -rf / ; ]", "y[", "rm -rf /", "]", NULL);
	expect("true | time x[ ; rm -rf / ; ]", "true", "time x[", "x[", "rm -rf /", "]", NULL);
	expect(">x[ ; rm -rf / ; ]", "", "rm -rf /", "]", NULL);
	expect("\\x[ ; rm -rf / ; ]", "x[", "rm -rf /", "]", NULL);
	expect("1x[ ; rm -rf / ; ]", "1x[", "rm -rf /", "]", NULL);
	expect("x[a]b[ ; rm -rf / ; ]", "x[a]b[", "rm -rf /", "]", NULL);
	expect("echo x[ # ] ; rm -rf /", "echo x[", NULL);
	/* in a case pattern no assignment is possible */
	refused("case a in\n x[ # ]) b;; esac", EINVAL, "expected ')'", 27);
	/* real assignments */
	expect("arr[0]=x; arr[$(rm a)]=y cmd", "", "cmd", "rm a", NULL);
	expect("a[i + 1]=2 rm x", "rm x", NULL);
	/* in an array: [ opening an element is a subscript, # a comment */
	expect("a=( [k ey]=1 # c\n x ) ; rm -rf /", "", "rm -rf /", NULL);
	expect("a=( x # ) ; rm -rf /\n) ; rm b", "", "rm b", NULL);
	refused("a=( y x[ ) ; rm -rf / ; ] )", EINVAL, "unexpected ')'", 26);
}

/* Other words bash reads to a matching bracket */
static void test_matched_words(void **state)
{
	(void) state;
	/* $[ ]: old arithmetic */
	expect("echo $[ # ] ; rm -rf /", "echo $[ # ]", "rm -rf /", NULL);
	expect("echo $[ 1 ; rm -rf / ; ]", "echo $[ 1 ; rm -rf / ; ]", NULL);
	one_word("echo $[1+2]", 1, "$[1+2]", true, false);
	/* !( starting a command is ! and a subshell, elsewhere an extended glob */
	expect("!(rm -rf /)", "rm -rf /", NULL);
	expect("a && !(rm -rf /)", "a", "rm -rf /", NULL);
	expect("echo !(x) @(a ; rm -rf / ; b)", "echo !(x) @(a ; rm -rf / ; b)", NULL);
	expect("ls +(a|b)*(c) ?(d)", "ls +(a|b)*(c) ?(d)", NULL);
	/* (( )) is arithmetic when the parenthesis closing the second ( is doubled, quotes counted */
	expect("(( 1 ')' )) ; rm -rf /", "rm -rf /", NULL);
	expect("((a) | b)", "a", "b", NULL);
	expect("echo $(( \"1)\" ))", "echo $(( \"1)\" ))", NULL);
}

/* ---- operators, pipelines, lists ---- */

static void test_lists(void **state)
{
	kn_sh_script s;

	(void) state;
	s = parse("a && b || c ; d &");
	assert_int_equal(s.n, 4);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(s.cmds[i].pipe_len, 1);
		assert_int_equal(s.cmds[i].depth, 0);
		assert_int_equal(s.cmds[i].origin, KN_SH_TOP);
		assert_int_equal(s.cmds[i].background, i == 3);
		for (size_t j = 0; j < i; j++)
			assert_int_not_equal(s.cmds[i].pipeline, s.cmds[j].pipeline);
	}
	kn_sh_script_free(&s);
	s = parse("a && b & c");
	assert_true(s.cmds[0].background);
	assert_true(s.cmds[1].background);
	assert_false(s.cmds[2].background);
	kn_sh_script_free(&s);
	expect("a;b&&c||d&e", "a", "b", "c", "d", "e", NULL);
	expect("a\nb\n\nc", "a", "b", "c", NULL);
	expect("a &&\n b ||\n\n c", "a", "b", "c", NULL);
	expect("a |\n b", "a", "b", NULL);
	expect("", NULL);
	expect(" \n\t\n ", NULL);
	expect("a;", "a", NULL);
	expect("a &", "a", NULL);
}

static void test_pipelines(void **state)
{
	kn_sh_script s;

	(void) state;
	s = parse("curl x | sh");
	assert_int_equal(s.n, 2);
	assert_int_equal(s.cmds[0].pipeline, s.cmds[1].pipeline);
	assert_int_equal(s.cmds[0].pipe_index, 0);
	assert_int_equal(s.cmds[1].pipe_index, 1);
	assert_int_equal(s.cmds[0].pipe_len, 2);
	assert_int_equal(s.cmds[1].pipe_len, 2);
	kn_sh_script_free(&s);
	s = parse("a | b |& c; d | e");
	assert_int_equal(s.n, 5);
	assert_int_equal(s.cmds[2].pipeline, s.cmds[0].pipeline);
	assert_int_equal(s.cmds[2].pipe_index, 2);
	assert_int_equal(s.cmds[2].pipe_len, 3);
	assert_int_not_equal(s.cmds[3].pipeline, s.cmds[0].pipeline);
	assert_int_equal(s.cmds[4].pipeline, s.cmds[3].pipeline);
	assert_int_equal(s.cmds[4].pipe_len, 2);
	kn_sh_script_free(&s);
	s = parse("! a | b");
	assert_int_equal(s.n, 2);
	assert_int_equal(s.cmds[1].pipe_index, 1);
	kn_sh_script_free(&s);
	/* a compound element: the commands inside take its place in the pipeline */
	s = parse("curl x | (cd /tmp; sh)");
	assert_int_equal(s.n, 3);
	assert_int_equal(s.cmds[2].pipeline, s.cmds[0].pipeline);
	assert_int_equal(s.cmds[2].pipe_index, 1);
	assert_int_equal(s.cmds[2].pipe_len, 2);
	assert_int_equal(s.cmds[2].depth, 1);
	kn_sh_script_free(&s);
	s = parse("curl x | while read l; do sh -c \"$l\"; done");
	assert_int_equal(s.cmds[find_cmd(&s, "sh -c $l")].pipeline, s.cmds[0].pipeline);
	assert_int_equal(s.cmds[find_cmd(&s, "sh -c $l")].pipe_index, 1);
	kn_sh_script_free(&s);
	/* ...but a pipeline inside it keeps its own */
	s = parse("curl x | (cat | sh)");
	assert_int_not_equal(s.cmds[2].pipeline, s.cmds[0].pipeline);
	assert_int_equal(s.cmds[2].pipe_index, 1);
	kn_sh_script_free(&s);
	/* an unwrapped command keeps the wrapper's place */
	s = parse("curl x | sudo bash");
	assert_int_equal(s.n, 3);
	assert_string_equal(word(&s, 2, 0)->text, "bash");
	assert_int_equal(s.cmds[2].pipeline, s.cmds[0].pipeline);
	assert_int_equal(s.cmds[2].pipe_index, 1);
	assert_int_equal(s.cmds[2].pipe_len, 2);
	kn_sh_script_free(&s);
	s = parse("wget -O- x | bash -s");
	assert_int_equal(s.n, 2);
	assert_int_equal(s.cmds[1].pipe_index, 1);
	kn_sh_script_free(&s);
}

static void test_comments_continuations(void **state)
{
	(void) state;
	expect("echo a # rm -rf /", "echo a", NULL);
	expect("# rm -rf /", NULL);
	expect("echo a # c\nls # d", "echo a", "ls", NULL);
	expect("a;# c\nb", "a", "b", NULL);
	expect("rm \\\n -rf /", "rm -rf /", NULL);
	expect("r\\\nm -rf /", "rm -rf /", NULL);
	expect("a \\\n&& b", "a", "b", NULL);
	one_word("echo 'a\\\nb'", 1, "a\\\nb", false, true);
	one_word("echo \"a\\\nb\"", 1, "ab", false, true);
	one_word("echo \"a\nb\"", 1, "a\nb", false, true);
}

/* ---- redirections ---- */

static void test_redirections(void **state)
{
	kn_sh_script s;
	const kn_sh_cmd *c;

	(void) state;
	s = parse("cmd a > f 2>&1 >>log <in &>all &>>all2 >|clob <>rw 3<&0 4>&- b");
	c = &s.cmds[0];
	assert_int_equal(c->argc, 3);
	assert_string_equal(c->argv[2].text, "b");
	assert_int_equal(c->n_redirs, 10);
	static const struct {
		const char *op;
		int fd;
		const char *target;
	} want[] = { { ">", -1, "f" }, { ">&", 2, "1" }, { ">>", -1, "log" }, { "<", -1, "in" },
		     { "&>", -1, "all" }, { "&>>", -1, "all2" }, { ">|", -1, "clob" }, { "<>", -1, "rw" },
		     { "<&", 3, "0" }, { ">&", 4, "-" } };
	for (size_t i = 0; i < 10; i++) {
		assert_string_equal(c->redirs[i].op, want[i].op);
		assert_int_equal(c->redirs[i].fd, want[i].fd);
		assert_string_equal(c->redirs[i].target.text, want[i].target);
		assert_null(c->redirs[i].heredoc);
	}
	kn_sh_script_free(&s);
	/* digits are an fd only when they are the whole word */
	s = parse("echo a2>x 2 >y");
	assert_int_equal(s.cmds[0].argc, 3);
	assert_string_equal(word(&s, 0, 1)->text, "a2");
	assert_string_equal(word(&s, 0, 2)->text, "2");
	assert_int_equal(s.cmds[0].redirs[0].fd, -1);
	kn_sh_script_free(&s);
	s = parse("> f");
	assert_int_equal(s.n, 1);
	assert_int_equal(s.cmds[0].argc, 0);
	assert_int_equal(s.cmds[0].n_redirs, 1);
	kn_sh_script_free(&s);
	s = parse("psql <<< \"DROP TABLE x\"");
	assert_string_equal(s.cmds[0].redirs[0].op, "<<<");
	assert_string_equal(s.cmds[0].redirs[0].target.text, "DROP TABLE x");
	kn_sh_script_free(&s);
	expect("cat < /etc/passwd > /dev/null", "cat", NULL);
	expect("2>/dev/null rm x", "rm x", NULL);
	/* redirections after a compound command reach every command inside */
	s = parse("{ a; b; } > log 2>&1");
	assert_int_equal(s.n, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(s.cmds[i].n_redirs, 2);
		assert_string_equal(s.cmds[i].redirs[0].target.text, "log");
	}
	kn_sh_script_free(&s);
	s = parse("( a > in; { b; } < x ) 2> e");
	assert_int_equal(s.cmds[0].n_redirs, 2);
	assert_int_equal(s.cmds[1].n_redirs, 2);
	assert_string_equal(s.cmds[1].redirs[0].target.text, "x");
	assert_string_equal(s.cmds[1].redirs[1].target.text, "e");
	kn_sh_script_free(&s);
}

/* ---- here-documents ---- */

static void test_heredocs(void **state)
{
	kn_sh_script s;

	(void) state;
	s = parse("psql <<EOF\nDROP TABLE x;\nEOF");
	assert_int_equal(s.n, 1);
	assert_string_equal(word(&s, 0, 0)->text, "psql");
	assert_int_equal(s.cmds[0].n_redirs, 1);
	assert_string_equal(s.cmds[0].redirs[0].op, "<<");
	assert_string_equal(s.cmds[0].redirs[0].target.text, "EOF");
	assert_string_equal(s.cmds[0].redirs[0].heredoc, "DROP TABLE x;\n");
	kn_sh_script_free(&s);
	/* the body is not commands, and the lines after it are */
	expect("cat <<EOF\nrm -rf /\nEOF\nls", "cat", "ls", NULL);
	expect("cat <<EOF | psql\nDROP TABLE x\nEOF", "cat", "psql", NULL);
	/* an unquoted delimiter: substitutions in the body run */
	expect("cat <<EOF\nx $(rm a) `rm b` \\$(not)\nEOF", "cat", "rm a", "rm b", NULL);
	/* quoted: nothing runs */
	expect("cat <<'EOF'\n$(rm a)\nEOF", "cat", NULL);
	expect("cat <<\"EOF\"\n$(rm a)\nEOF", "cat", NULL);
	expect("cat <<\\EOF\n$(rm a)\nEOF", "cat", NULL);
	expect("cat <<E\"O\"F\n$(rm a)\nEOF", "cat", NULL);
	/* <<- strips leading tabs, of the body and the delimiter */
	s = parse("cat <<-EOF\n\tx\n\t\ty\n\tEOF\necho");
	assert_string_equal(s.cmds[0].redirs[0].heredoc, "x\ny\n");
	assert_int_equal(s.n, 2);
	kn_sh_script_free(&s);
	/* two on one line, bodies in order */
	s = parse("cat <<A - <<B\na\nA\nb\nB");
	assert_string_equal(s.cmds[0].redirs[0].heredoc, "a\n");
	assert_string_equal(s.cmds[0].redirs[1].heredoc, "b\n");
	kn_sh_script_free(&s);
	/*
	 * Unquoted, bash joins \<newline> before looking for the delimiter (checked
	 * against bash 5.2): EO\ + F ends the body, foo\ + EOF does not; quoted,
	 * lines are taken as they are; <<- strips tabs at logical line starts only.
	 */
	expect("cat <<EOF\nx\nEO\\\nF\nrm -rf /\nEOF", "cat", "rm -rf /", "EOF", NULL);
	expect("cat <<EOF\nfoo\\\nEOF\nrm -rf /\nEOF", "cat", NULL);
	expect("cat <<'EOF'\nx\nEO\\\nF\nrm -rf /\nEOF", "cat", NULL);
	expect("cat <<EOF\nx\\\\\nEOF\nrm -rf /", "cat", "rm -rf /", NULL);
	s = parse("cat <<-EOF\n\tx\\\n\tEOF\n\trm -rf /\n\tEOF");
	assert_int_equal(s.n, 1);
	assert_string_equal(s.cmds[0].redirs[0].heredoc, "x\tEOF\nrm -rf /\n");
	kn_sh_script_free(&s);
	s = parse("psql <<EOF\nDROP \\\nTABLE x;\nEOF");
	assert_string_equal(s.cmds[0].redirs[0].heredoc, "DROP TABLE x;\n");
	kn_sh_script_free(&s);
	/* an empty delimiter ends at the first empty line */
	s = parse("cat <<''\na\n\nrm x");
	assert_string_equal(s.cmds[0].redirs[0].heredoc, "a\n");
	assert_int_equal(s.n, 2);
	kn_sh_script_free(&s);
	/* empty body, delimiter at the end of the text without a newline */
	s = parse("cat <<EOF\nEOF");
	assert_string_equal(s.cmds[0].redirs[0].heredoc, "");
	kn_sh_script_free(&s);
	/* inside $( ) */
	s = parse("x=$(cat <<EOF\nhi\nEOF\n)\necho $x");
	assert_int_equal(s.n, 3);
	assert_string_equal(word(&s, 1, 0)->text, "cat");
	assert_string_equal(s.cmds[1].redirs[0].heredoc, "hi\n");
	kn_sh_script_free(&s);
	/* on a compound command */
	s = parse("while read l; do psql; done <<EOF\nDROP TABLE t\nEOF");
	assert_string_equal(s.cmds[1].redirs[0].heredoc, "DROP TABLE t\n");
	kn_sh_script_free(&s);
	/* through a wrapper, the body stays on the command that reads it */
	s = parse("sudo -u postgres psql <<EOF\nDROP DATABASE d\nEOF");
	assert_int_equal(s.n, 2);
	assert_string_equal(word(&s, 1, 0)->text, "psql");
	assert_string_equal(s.cmds[1].redirs[0].heredoc, "DROP DATABASE d\n");
	kn_sh_script_free(&s);
}

/* a shell reading its script from a here-document or here-string: the script is parsed */
static void test_shell_stdin(void **state)
{
	(void) state;
	expect("bash <<'EOF'\nrm -rf /\nEOF", "bash", "rm -rf /", NULL);
	placed("bash <<'EOF'\nrm -rf /\nEOF", "rm -rf /", 1, KN_SH_STRING, NULL);
	expect("sh <<< \"rm -rf ~\"", "sh", "rm -rf ~", NULL);
	expect("bash -s x <<EOF\nrm a\nEOF", "bash -s x", "rm a", NULL);
	expect("sudo bash <<EOF\nrm a\nEOF", "sudo bash", "bash", "rm a", NULL);
	placed("sudo bash <<EOF\nrm a\nEOF", "rm a", 2, KN_SH_STRING, "sudo");
	/* a script operand reads the file, not stdin */
	expect("bash x.sh <<EOF\nrm a\nEOF", "bash x.sh", NULL);
	/* stdin from a file: not ours to read */
	expect("bash < x.sh", "bash", NULL);
	/* the last redirection of stdin wins */
	expect("bash <<<'rm a' < x.sh", "bash", NULL);
	expect("bash 2<<<'rm a'", "bash", NULL);
}

/* ---- compound commands ---- */

static void test_compound(void **state)
{
	(void) state;
	expect("(cd /tmp && rm -rf x)", "cd /tmp", "rm -rf x", NULL);
	placed("(cd /tmp && rm -rf x)", "rm -rf x", 1, KN_SH_SUBSHELL, NULL);
	placed("{ rm a; }", "rm a", 1, KN_SH_SUBSHELL, NULL);
	placed("( ( rm a ) )", "rm a", 2, KN_SH_SUBSHELL, NULL);
	placed("((rm a) )", "rm a", 2, KN_SH_SUBSHELL, NULL);
	expect("{ a; b\n}", "a", "b", NULL);
	expect("echo { }", "echo { }", NULL);
	expect("if a; then b; elif c; then d; else e; fi", "a", "b", "c", "d", "e", NULL);
	placed("if a; then rm x; fi", "rm x", 1, KN_SH_SUBSHELL, NULL);
	expect("if a\nthen\n b\nfi", "a", "b", NULL);
	expect("while a; do b; done", "a", "b", NULL);
	expect("until a; do b; done", "a", "b", NULL);
	expect("for x in a b $(c); do rm $x; done", "c", "rm $x", NULL);
	placed("for x in $(c); do rm $x; done", "c", 1, KN_SH_SUBST, NULL);
	expect("for x; do b; done", "b", NULL);
	expect("for x do b; done", "b", NULL);
	expect("for x in do; do b; done", "b", NULL);
	expect("for x in a\ndo b; done", "b", NULL);
	expect("for ((i=0; i<$(n); i++)); do b; done", "n", "b", NULL);
	expect("select x in a b; do c; done", "c", NULL);
	expect("case $x in a|b) rm a;; (c) rm c;& *) d;;& e) ;; esac", "rm a", "rm c", "d", NULL);
	expect("case x in\n a)\n rm a\n ;;\n b) rm b\nesac", "rm a", "rm b", NULL);
	expect("case x in esac", NULL);
	expect("case $(a) in *) b;; esac", "a", "b", NULL);
	expect("(( i++ ))", NULL);
	expect("(( x = $(rm y) )) && z", "rm y", "z", NULL);
	expect("[[ -f x && -d y ]] && rm z", "[[ -f x && -d y ]]", "rm z", NULL);
	expect("[[ $x =~ ^(a|b)$ ]]", "[[ $x =~ ^ ( a | b ) $ ]]", NULL);
	expect("[[ a < b ]]", "[[ a < b ]]", NULL);
	expect("time rm x", "rm x", NULL);
	expect("time -p rm x | y", "rm x", "y", NULL);
	expect("time (rm x)", "rm x", NULL);
	expect("time", NULL);
	expect("! rm x", "rm x", NULL);
	/* reserved words only count in command position, unquoted */
	expect("echo if then fi done", "echo if then fi done", NULL);
	expect("\"if\" x", "if x", NULL);
	expect("A=1 [[ x ]]", "[[ x ]]", NULL);
	expect("for x do b; done", "b", NULL);
	expect("!", NULL);
	expect("! ;", NULL);
	/* after a redirection's target, bash no longer reads a closing reserved word */
	refused("{ { a; } >g }", EINVAL, "'}' must follow ; or a newline", 12);
	refused("if a; then b; fi >x fi", EINVAL, "unexpected 'fi'", 20);
	refused("if true; then echo a fi", EINVAL, "expected 'fi', found end of input", 23);
}

static void test_functions(void **state)
{
	(void) state;
	expect("f() { rm -rf /; }; f", "rm -rf /", "f", NULL);
	placed("f() { rm -rf /; }; f", "rm -rf /", 1, KN_SH_SUBSHELL, NULL);
	placed("f() { rm -rf /; }; f", "f", 0, KN_SH_TOP, NULL);
	expect("f () ( rm a )", "rm a", NULL);
	expect("f()\n{\n rm a\n}", "rm a", NULL);
	expect("function g { rm a; }", "rm a", NULL);
	expect("function g() { rm a; } > log", "rm a", NULL);
	expect("ls() { rm -rf /; }; ls", "rm -rf /", "ls", NULL);
	expect("arr=(a b \"c d\") cmd", "cmd", NULL);
	expect("arr+=(x $(rm y))", "", "rm y", NULL);
	/* as in bash, text after the ) makes it an ordinary string; a second =( is an error */
	expect("a=(x)y rm z", "rm z", NULL);
	refused("a=(x)b=(y)", EINVAL, "unexpected '('", 7);
}

static void test_assignments(void **state)
{
	kn_sh_script s;

	(void) state;
	s = parse("A=1 B+=2 C= rm x");
	assert_int_equal(s.cmds[0].argc, 2);
	assert_string_equal(s.cmds[0].assign[0], "A=1");
	assert_string_equal(s.cmds[0].assign[1], "B+=2");
	assert_string_equal(s.cmds[0].assign[2], "C=");
	assert_null(s.cmds[0].assign[3]);
	kn_sh_script_free(&s);
	s = parse("A='a b'");
	assert_int_equal(s.cmds[0].argc, 0);
	assert_string_equal(s.cmds[0].assign[0], "A=a b");
	kn_sh_script_free(&s);
	/* not assignments: after the command name, quoted names, no name */
	expect("rm A=1", "rm A=1", NULL);
	expect("\"A\"=1", "A=1", NULL);
	expect("=1", "=1", NULL);
	expect("1A=x", "1A=x", NULL);
	s = parse("rm x");
	assert_null(s.cmds[0].assign);
	assert_null(s.cmds[0].wrappers);
	kn_sh_script_free(&s);
}

/* ---- -c strings, eval ---- */

static void test_strings(void **state)
{
	(void) state;
	expect("bash -lc 'rm -rf /'", "bash -lc rm -rf /", "rm -rf /", NULL);
	placed("bash -lc 'rm -rf /'", "rm -rf /", 1, KN_SH_STRING, NULL);
	expect("sh -c \"rm -rf /\"", "sh -c rm -rf /", "rm -rf /", NULL);
	expect("sh -e -o pipefail -c 'rm a'", "sh -e -o pipefail -c rm a", "rm a", NULL);
	expect("bash -O extglob -c 'rm a'", "bash -O extglob -c rm a", "rm a", NULL);
	expect("bash --norc --rcfile x -c 'rm a'", "bash --norc --rcfile x -c rm a", "rm a", NULL);
	expect("bash -c -e 'rm a'", "bash -c -e rm a", "rm a", NULL);
	expect("bash -xc 'rm a' name arg", "bash -xc rm a name arg", "rm a", NULL);
	expect("zsh -c 'rm a'", "zsh -c rm a", "rm a", NULL);
	expect("dash -c 'rm a'", "dash -c rm a", "rm a", NULL);
	expect("/bin/bash -c 'rm a'", "/bin/bash -c rm a", "rm a", NULL);
	expect("bash -c 'a | b; c'", "bash -c a | b; c", "a", "b", "c", NULL);
	expect("bash -c 'rm \"$1\"' _ /", "bash -c rm \"$1\" _ /", "rm $1", NULL);
	expect("bash -c \"bash -c \\\"rm -rf /\\\"\"", "bash -c bash -c \"rm -rf /\"", "bash -c rm -rf /",
	       "rm -rf /", NULL);
	placed("bash -c \"bash -c \\\"rm -rf /\\\"\"", "rm -rf /", 2, KN_SH_STRING, NULL);
	expect("bash -c", "bash -c", NULL);
	expect("bash script.sh -c 'rm a'", "bash script.sh -c rm a", NULL);
	expect("su -c 'rm -rf /' root", "su -c rm -rf / root", "rm -rf /", NULL);
	expect("su - root --command='rm a'", "su - root --command=rm a", "rm a", NULL);
	expect("runuser -l u -c 'rm a'", "runuser -l u -c rm a", "rm a", NULL);
	expect("su -s /bin/sh u", "su -s /bin/sh u", NULL);
	/* eval joins its arguments with spaces, like the shell */
	expect("eval \"rm -rf /\"", "eval rm -rf /", "rm -rf /", NULL);
	expect("eval rm -rf /", "eval rm -rf /", "rm -rf /", NULL);
	expect("eval 'rm' '-rf /; ls'", "eval rm -rf /; ls", "rm -rf /", "ls", NULL);
	expect("eval -- 'rm a'", "eval -- rm a", "rm a", NULL);
	placed("eval 'rm a'", "rm a", 1, KN_SH_EVAL, NULL);
	expect("eval", "eval", NULL);
	expect("builtin eval 'rm a'", "builtin eval rm a", "eval rm a", "rm a", NULL);
	/* the string's own substitutions */
	expect("sh -c 'echo $(rm a)'", "sh -c echo $(rm a)", "echo $(rm a)", "rm a", NULL);
}

/* dynamic_strings() - which commands of @text come from a string holding expansions (1 per command, in order) */
static void dynamic_strings(const char *text, const char *want)
{
	kn_sh_script s = parse(text);
	char got[64] = "";

	for (size_t i = 0; i < s.n && i + 1 < sizeof(got); i++)
		got[i] = s.cmds[i].dynamic_string ? '1' : '0';
	if (strcmp(got, want))
		fail_msg("'%s': dynamic_string %s, expected %s", text, got, want);
	kn_sh_script_free(&s);
}

/*
 * A string run by a shell or eval that holds expansions is re-parsed with
 * their values, unknown here (X='x; rm -rf /'): its commands are marked.
 */
static void test_dynamic_strings(void **state)
{
	(void) state;
	dynamic_strings("sh -c 'cd $D && make'", "000");          /* single quotes: the inner shell expands */
	dynamic_strings("sh -c \"cd $D && make\"", "011");
	dynamic_strings("sh -c \"echo $(date)\"", "0110");        /* sh, the string (echo, date), the outer date */
	dynamic_strings("eval \"echo $X\"", "01");
	dynamic_strings("eval echo ok", "00");
	dynamic_strings("su -c \"rm $X\"", "01");
	dynamic_strings("su --command=\"rm $X\"", "01");
	dynamic_strings("env -S \"rm $X\"", "01");
	dynamic_strings("bash <<EOF\nrm $X\nEOF", "01");
	dynamic_strings("bash <<'EOF'\nrm $X\nEOF", "00");
	dynamic_strings("bash <<< \"rm $X\"", "01");
	dynamic_strings("bash -c \"sh -c 'rm a' $X\"", "011");    /* nested strings inherit the mark */
	dynamic_strings("sudo bash -c \"rm $X\"", "001");
	/* xargs -I and find -exec put text in their words when they run */
	dynamic_strings("xargs -I{} sh -c {}", "001");
	dynamic_strings("xargs -I % sh -c 'echo %'", "001");
	dynamic_strings("xargs -i sh -c 'echo {}'", "001");
	dynamic_strings("xargs sh -c 'echo {}'", "000");
	dynamic_strings("find . -exec sh -c 'rm {}' \\;", "001");
	one_word("xargs -I{} rm -rf {}/x", 0, "xargs", false, false);
	{
		kn_sh_script s = parse("xargs -I{} rm -rf {}/x");

		assert_true(word(&s, 1, 2)->dynamic);
		assert_false(word(&s, 1, 1)->dynamic);
		kn_sh_script_free(&s);
		s = parse("find / -exec mv {} {}.bak \\;");
		assert_true(word(&s, 1, 1)->dynamic);
		assert_true(word(&s, 1, 2)->dynamic);
		kn_sh_script_free(&s);
	}
}

/* ---- wrappers ---- */

static void test_wrappers(void **state)
{
	kn_sh_script s;

	(void) state;
	expect("sudo -u root -- rm -rf /", "sudo -u root -- rm -rf /", "rm -rf /", NULL);
	placed("sudo -u root -- rm -rf /", "rm -rf /", 1, KN_SH_WRAPPER, "sudo");
	expect("sudo -uroot -H -E rm a", "sudo -uroot -H -E rm a", "rm a", NULL);
	expect("sudo --user=root --chdir /x rm a", "sudo --user=root --chdir /x rm a", "rm a", NULL);
	expect("sudo -i", "sudo -i", NULL);
	expect("sudo -l rm a", "sudo -l rm a", NULL);
	expect("sudo -e /etc/hosts", "sudo -e /etc/hosts", NULL);
	expect("doas -u root rm a", "doas -u root rm a", "rm a", NULL);
	expect("env -i PATH=/x rm -rf /", "env -i PATH=/x rm -rf /", "rm -rf /", NULL);
	expect("env - A=1 rm a", "env - A=1 rm a", "rm a", NULL);
	expect("env -u HOME -C /tmp rm a", "env -u HOME -C /tmp rm a", "rm a", NULL);
	expect("env --unset=HOME rm a", "env --unset=HOME rm a", "rm a", NULL);
	expect("env", "env", NULL);
	expect("env A=1", "env A=1", NULL);
	expect("env -S 'rm -rf /' x", "env -S rm -rf / x", "rm -rf / x", NULL);
	expect("env --split-string='rm a'", "env --split-string=rm a", "rm a", NULL);
	placed("env -S 'rm a'", "rm a", 1, KN_SH_WRAPPER, "env");
	expect("timeout -k 1 5 rm a", "timeout -k 1 5 rm a", "rm a", NULL);
	expect("timeout -s 9 5 rm a", "timeout -s 9 5 rm a", "rm a", NULL);
	expect("timeout --signal=KILL 5s rm a", "timeout --signal=KILL 5s rm a", "rm a", NULL);
	expect("timeout --preserve-status 5 rm a", "timeout --preserve-status 5 rm a", "rm a", NULL);
	expect("nice -n 5 rm a", "nice -n 5 rm a", "rm a", NULL);
	expect("nice -5 rm a", "nice -5 rm a", "rm a", NULL);
	expect("nice --adjustment=5 rm a", "nice --adjustment=5 rm a", "rm a", NULL);
	expect("nohup rm a &", "nohup rm a", "rm a", NULL);
	expect("command -p rm a", "command -p rm a", "rm a", NULL);
	expect("command -v rm", "command -v rm", NULL);
	expect("command -V rm", "command -V rm", NULL);
	expect("exec rm a", "exec rm a", "rm a", NULL);
	expect("exec -a name rm a", "exec -a name rm a", "rm a", NULL);
	expect("exec >log 2>&1", "exec", NULL);
	expect("/usr/bin/time -f %e rm a", "/usr/bin/time -f %e rm a", "rm a", NULL);
	expect("sudo time -p rm a", "sudo time -p rm a", "time -p rm a", "rm a", NULL);
	expect("stdbuf -oL rm a", "stdbuf -oL rm a", "rm a", NULL);
	expect("stdbuf -o L -e 0 rm a", "stdbuf -o L -e 0 rm a", "rm a", NULL);
	expect("ionice -c3 rm a", "ionice -c3 rm a", "rm a", NULL);
	expect("ionice -c 2 -n 7 rm a", "ionice -c 2 -n 7 rm a", "rm a", NULL);
	expect("ionice -p 1", "ionice -p 1", NULL);
	expect("chroot /x rm a", "chroot /x rm a", "rm a", NULL);
	expect("chroot --userspec=a:b /x rm a", "chroot --userspec=a:b /x rm a", "rm a", NULL);
	expect("chroot /x", "chroot /x", NULL);
	expect("setsid -f rm a", "setsid -f rm a", "rm a", NULL);
	expect("pkexec --user root rm a", "pkexec --user root rm a", "rm a", NULL);
	expect("/usr/bin/sudo /bin/rm -rf /", "/usr/bin/sudo /bin/rm -rf /", "/bin/rm -rf /", NULL);
	placed("/usr/bin/sudo /bin/rm -rf /", "/bin/rm -rf /", 1, KN_SH_WRAPPER, "sudo");
	/* chains */
	placed("sudo env A=1 timeout 5 nice -n 1 nohup rm -rf /", "rm -rf /", 5, KN_SH_WRAPPER,
	       "sudo env timeout nice nohup");
	placed("sudo bash -c 'rm -rf /'", "rm -rf /", 2, KN_SH_STRING, "sudo");
	placed("sudo find / -exec rm {} +", "rm {}", 2, KN_SH_FIND_EXEC, "sudo");
	/* assignments of the wrapper join the command's */
	s = parse("X=1 env A=1 B=2 rm a");
	assert_int_equal(s.n, 2);
	assert_string_equal(s.cmds[1].assign[0], "X=1");
	assert_string_equal(s.cmds[1].assign[1], "A=1");
	assert_string_equal(s.cmds[1].assign[2], "B=2");
	assert_null(s.cmds[1].assign[3]);
	kn_sh_script_free(&s);
	s = parse("sudo A=1 rm a > x &");
	assert_string_equal(s.cmds[1].assign[0], "A=1");
	assert_int_equal(s.cmds[1].n_redirs, 1);
	assert_true(s.cmds[1].background);
	kn_sh_script_free(&s);
}

static void test_xargs(void **state)
{
	kn_sh_script s;

	(void) state;
	s = parse("find . -print0 | xargs -0 rm -rf");
	assert_int_equal(s.n, 3);
	assert_string_equal(word(&s, 2, 0)->text, "rm");
	assert_int_equal(s.cmds[2].argc, 2);
	assert_true(s.cmds[2].more_args);
	assert_false(s.cmds[1].more_args);
	assert_string_equal(s.cmds[2].wrappers, "xargs");
	assert_int_equal(s.cmds[2].pipe_index, 1);
	kn_sh_script_free(&s);
	expect("xargs -n1 -P 4 rm", "xargs -n1 -P 4 rm", "rm", NULL);
	expect("xargs -I{} rm -rf {}", "xargs -I{} rm -rf {}", "rm -rf {}", NULL);
	expect("xargs -I {} rm {}", "xargs -I {} rm {}", "rm {}", NULL);
	expect("xargs -i{} rm {}", "xargs -i{} rm {}", "rm {}", NULL);
	expect("xargs --max-args 1 --null rm", "xargs --max-args 1 --null rm", "rm", NULL);
	expect("xargs -a list rm", "xargs -a list rm", "rm", NULL);
	expect("xargs", "xargs", NULL);
	s = parse("xargs sudo rm");
	assert_int_equal(s.n, 3);
	assert_true(s.cmds[2].more_args);
	kn_sh_script_free(&s);
	expect("xargs sh -c 'rm \"$@\"' _", "xargs sh -c rm \"$@\" _", "sh -c rm \"$@\" _", "rm $@", NULL);
}

static void test_find(void **state)
{
	(void) state;
	expect("find / -delete", "find / -delete", NULL);
	expect("find / -exec rm -rf {} \\;", "find / -exec rm -rf {} ;", "rm -rf {}", NULL);
	placed("find / -exec rm -rf {} \\;", "rm -rf {}", 1, KN_SH_FIND_EXEC, NULL);
	expect("find . -name x -exec rm {} + -o -print", "find . -name x -exec rm {} + -o -print", "rm {}", NULL);
	expect("find . -execdir rm {} ';' -ok mv {} x \";\"", "find . -execdir rm {} ; -ok mv {} x ;", "rm {}",
	       "mv {} x", NULL);
	expect("find . -exec echo + \\;", "find . -exec echo + ;", "echo +", NULL);
	expect("find . -exec sh -c 'rm \"$1\"' _ {} \\;", "find . -exec sh -c rm \"$1\" _ {} ;",
	       "sh -c rm \"$1\" _ {}", "rm $1", NULL);
	/* no terminator: find refuses to run, but the command is still listed */
	expect("find . -exec rm {}", "find . -exec rm {}", "rm {}", NULL);
	expect("find . -exec \\;", "find . -exec ;", NULL);
}

/* ---- errors ---- */

static void test_errors(void **state)
{
	(void) state;
	refused("echo 'abc", EINVAL, "unterminated '", 5);
	refused("echo \"abc", EINVAL, "unterminated \"", 5);
	refused("echo $'abc", EINVAL, "unterminated $'", 5);
	refused("echo $(ls", EINVAL, "unterminated $(", 5);
	refused("echo `ls", EINVAL, "unterminated `", 5);
	refused("echo ${x", EINVAL, "unterminated ${", 5);
	refused("echo <(ls", EINVAL, "unterminated <(", 5);
	refused("(ls", EINVAL, "expected ')'", 3);
	refused("ls)", EINVAL, "unexpected ')'", 2);
	refused("{ ls", EINVAL, "expected '}'", 4);
	refused("{ }", EINVAL, "empty group", 2);
	refused("( )", EINVAL, "empty subshell", 2);
	refused("if true; then x", EINVAL, "expected 'fi'", 15);
	refused("if true; fi", EINVAL, "expected 'then'", 9);
	refused("while a; done", EINVAL, "expected 'do'", 9);
	refused("for x in a b", EINVAL, "unexpected end of input", 12);
	refused("case x in a) b", EINVAL, "expected 'esac'", 14);
	refused("case x a) b;; esac", EINVAL, "expected 'in'", 7);
	refused("fi", EINVAL, "unexpected 'fi'", 0);
	refused("a && ", EINVAL, "unexpected end of input", 5);
	refused("| a", EINVAL, "unexpected '|'", 0);
	refused("a | | b", EINVAL, "unexpected '|'", 4);
	refused("a ;; b", EINVAL, "unexpected ';;'", 2);
	refused("a & ; b", EINVAL, "unexpected ';'", 4);
	refused("echo >", EINVAL, "'>' needs a word", 5);
	refused("echo > ;", EINVAL, "'>' needs a word", 5);
	refused("cat <<EOF\nabc", EINVAL, "here-document <<'EOF' has no such line", 4);
	refused("cat <<EOF", EINVAL, "here-document <<'EOF' has no body", 4);
	refused("echo 'a\n'b\n)", EINVAL, "unexpected ')'", 11);
	/* words quoted in messages show control characters as ? */
	refused("for x in a; 'x\ny\x01'", EINVAL, "expected 'do', found 'x?y?'", 12);
	refused("echo $(cat <<EOF)", EINVAL, "here-document not terminated inside $( )", 5);
	refused("echo \\$(rm -rf /)", EINVAL, "unexpected '('", 7);
	refused("echo a(", EINVAL, "unexpected '('", 6);
	refused("f(", EINVAL, "expected ')'", 2);
	refused("x=(a", EINVAL, "unterminated array assignment", 2);
	refused("[[ a", EINVAL, "unterminated [[", 0);
	refused("echo $((1 + $(rm x)", EINVAL, "expected ')'", 19);
	refused("for x in\ny\ndo b; done", EINVAL, "expected 'do', found 'y'", 9);
	refused("f() x", EINVAL, "function body must be a compound command", 4);
	refused("function f x", EINVAL, "function body must be a compound command", 11);
	/* an error inside a string names the string, the offset is in it */
	refused("bash -c 'echo \"x'", EINVAL, "in the string run by bash -c: unterminated \"", 5);
	refused("eval 'a )'", EINVAL, "in the string run by eval: unexpected ')'", 2);
	refused("sudo sh -c 'a |'", EINVAL, "in the string run by sh -c: unexpected end of input", 3);
	refused("bash <<'E'\nrm (\nE", EINVAL, "in the string run by bash reading stdin: expected ')'", 4);
	/* inside backticks, offsets count from the backtick */
	refused("echo `a )`", EINVAL, "unexpected ')'", 8);
}

/* ---- limits ---- */

/* repeat() - @prefix, @n times @unit, @suffix (freed by the caller) */
static char *repeat(const char *prefix, const char *unit, size_t n, const char *suffix)
{
	size_t lp = strlen(prefix), lu = strlen(unit), ls = strlen(suffix);
	char *s = malloc(lp + lu * n + ls + 1);

	assert_non_null(s);
	memcpy(s, prefix, lp);
	for (size_t i = 0; i < n; i++)
		memcpy(s + lp + lu * i, unit, lu);
	memcpy(s + lp + lu * n, suffix, ls + 1);
	return s;
}

/* nested() - "rm a" inside @n subshells */
static char *nested(size_t n)
{
	char *open = repeat("", "( ", n, "rm a"), *all = repeat(open, " )", n, "");

	free(open);
	return all;
}

static void test_limits(void **state)
{
	kn_error err = KN_ERROR_INIT;
	kn_sh_script s;
	char *text;
	int r;

	(void) state;
	/* 16 levels of subshells: still seen */
	text = nested(KN_SH_MAX_DEPTH);
	s = parse(text);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.cmds[0].depth, KN_SH_MAX_DEPTH);
	assert_false(s.truncated);
	kn_sh_script_free(&s);
	free(text);
	/* one more: dropped, and the result says so */
	text = nested(KN_SH_MAX_DEPTH + 1);
	s = parse(text);
	assert_int_equal(s.n, 0);
	assert_true(s.truncated);
	kn_sh_script_free(&s);
	free(text);
	/* the parser's own recursion is bounded */
	text = repeat("", "(", 100, "a");
	r = kn_sh_parse(text, &s, &err);
	assert_int_equal(r, -E2BIG);
	assert_non_null(strstr(err.msg, "nesting deeper than"));
	free(text);
	text = repeat("echo ", "${x:-", 100, "");
	assert_int_equal(kn_sh_parse(text, &s, &err), -E2BIG);
	free(text);
	text = repeat("echo ", "$(", 100, "");
	assert_int_equal(kn_sh_parse(text, &s, &err), -E2BIG);
	free(text);
	/* wrappers past the depth: truncated */
	text = repeat("", "sudo ", 20, "rm -rf /");
	s = parse(text);
	assert_true(s.truncated);
	assert_int_equal(s.n, KN_SH_MAX_DEPTH + 1);
	kn_sh_script_free(&s);
	free(text);
	text = repeat("", "eval ", 20, "rm -rf /");
	s = parse(text);
	assert_true(s.truncated);
	kn_sh_script_free(&s);
	free(text);
	/* commands */
	text = repeat("", "a;", KN_SH_MAX_CMDS + 10, "");
	s = parse(text);
	assert_int_equal(s.n, KN_SH_MAX_CMDS);
	assert_true(s.truncated);
	kn_sh_script_free(&s);
	free(text);
	text = repeat("", "a;", KN_SH_MAX_CMDS, "");
	s = parse(text);
	assert_int_equal(s.n, KN_SH_MAX_CMDS);
	assert_false(s.truncated);
	kn_sh_script_free(&s);
	free(text);
	/* input */
	text = malloc(KN_SH_MAX_INPUT + 2);
	assert_non_null(text);
	memset(text, 'a', KN_SH_MAX_INPUT + 1);
	text[KN_SH_MAX_INPUT + 1] = '\0';
	assert_int_equal(kn_sh_parse(text, &s, &err), -E2BIG);
	assert_int_equal(s.n, 0);
	text[KN_SH_MAX_INPUT] = '\0';
	s = parse(text);
	assert_int_equal(s.n, 1);
	kn_sh_script_free(&s);
	free(text);
	assert_int_equal(kn_sh_parse(NULL, &s, &err), -EINVAL);
}

/* Inputs built to make a careless parser quadratic or exponential: each must end quickly (the suite's timeout). */
static void test_blowups(void **state)
{
	static const struct {
		const char *prefix, *unit, *suffix;
		size_t n;
	} cases[] = {
		{ "", "A=1 ", "", 200000 },             /* many assignments */
		{ "echo ", "a ", "", 200000 },          /* many words */
		{ "", "echo $((", "", 100000 },         /* arithmetic that never closes */
		{ "echo ", "$((1)", "", 100000 },       /* arithmetic lookahead on every one */
		{ "cat ", "<<E ", "\n", 50000 },        /* here-documents with no body */
		{ "", "sudo ", "rm", 200000 },          /* wrapper chain */
		{ "eval ", "eval ", "", 100000 },       /* eval chain */
		{ "{ ", "a; ", "} <<E\nE\n", 100000 }, /* group redirections copied to many commands */
		{ "", "x|", "y", 200000 },              /* a long pipeline */
		{ "bash -c \"", "$(bash -c \\\"", "", 4000 },
		{ "echo ", "'", "", 300001 },
	};
	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = repeat(cases[i].prefix, cases[i].unit, cases[i].n, cases[i].suffix);
		kn_error err = KN_ERROR_INIT;
		kn_sh_script s;
		int r = kn_sh_parse(text, &s, &err);

		/* whatever the verdict, it is a clean one */
		assert_true(r == 0 || r == -EINVAL || r == -E2BIG);
		if (r < 0)
			assert_int_equal(s.n, 0);
		kn_sh_script_free(&s);
		free(text);
	}
}

static void test_free_and_basename(void **state)
{
	kn_sh_script s = parse("a | b");

	(void) state;
	kn_sh_script_free(&s);
	assert_int_equal(s.n, 0);
	assert_null(s.cmds);
	kn_sh_script_free(&s);
	kn_sh_script_free(NULL);
	assert_string_equal(kn_sh_basename("/usr/bin/rm"), "rm");
	assert_string_equal(kn_sh_basename("rm"), "rm");
	assert_string_equal(kn_sh_basename("./x/"), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_globs),
		cmocka_unit_test(test_obfuscation),
		cmocka_unit_test(test_dynamic_command),
		cmocka_unit_test(test_quoted_strings),
		cmocka_unit_test(test_substitution),
		cmocka_unit_test(test_subscripts),
		cmocka_unit_test(test_matched_words),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_pipelines),
		cmocka_unit_test(test_comments_continuations),
		cmocka_unit_test(test_redirections),
		cmocka_unit_test(test_heredocs),
		cmocka_unit_test(test_shell_stdin),
		cmocka_unit_test(test_compound),
		cmocka_unit_test(test_functions),
		cmocka_unit_test(test_assignments),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_dynamic_strings),
		cmocka_unit_test(test_wrappers),
		cmocka_unit_test(test_xargs),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_blowups),
		cmocka_unit_test(test_free_and_basename),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
