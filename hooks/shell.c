/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A shell command line as the policy sees it (what it yields: shell.h).
 *
 * How this works, for one text (the command line, or a string found in it):
 *   1. Lexing and recursive-descent parsing into "raw" simple commands.  A
 *      $( ), backtick or <( ) is parsed where the lexer meets it, inside a
 *      word; the simple command holding that word is then inserted before
 *      the commands it contributed, so the list reads outer before inner.
 *      Here-document bodies are read when the newline ending their line is
 *      consumed; raw commands name them by index until step 2.
 *   2. Each raw command is copied to the result and unwrapped: a wrapper
 *      gives the command it runs (a new entry, one level deeper), `sh -c S`,
 *      `eval S`, `su -c S`, `env -S S` and a here-document fed to a shell
 *      are parsed by 1+2 again, `find -exec` gives its command.
 *
 * Work is bounded whatever the input: the recursion of the parser itself
 * (SH_MAX_NEST, past it -E2BIG), recorded nesting (KN_SH_MAX_DEPTH: deeper
 * commands are dropped and the result marked truncated), commands
 * (KN_SH_MAX_CMDS, same) and a byte budget charged for everything read or
 * copied more than once (strings parsed again, arithmetic lookahead, copied
 * here-document bodies), so no input costs more than linear work.
 *
 * What obfuscations yield (quote removal is done, expansions are not):
 *   r''m, "r"m, \rm, 'rm', r\m            -> "rm" (quoted)
 *   r\<newline>m                           -> "rm" (a line continuation, not a quote)
 *   $'\x72m', $'\162m', $'\u0072m'         -> "rm" (quoted: ANSI-C escapes decoded; a NUL cuts the $'')
 *   $CMD, ${X:-rm}, "$(which rm)", `x`     -> the text as written, dynamic
 *   r{m,}, r*, /bin/r?                     -> the text as written, dynamic (brace expansion, globs)
 *   ~                                      -> "~", not dynamic: the rules match it as written
 * A string run by sh -c or eval that holds expansions is parsed as written
 * too, and its commands are marked dynamic_string: the values are re-parsed
 * when it runs, so they may hold more commands.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shell.h"
#include "util.h"

#define SH_MAX_NEST 64 /* recursion of the parser: ( ), { }, $( ), ${ }, quotes inside ${ } */

/* Grow @arr (element count @n, capacity @cap) so that one more element fits. */
#define GROW(arr, n, cap)                                                        \
	do {                                                                     \
		if ((n) >= (cap)) {                                              \
			(cap) = (cap) ? 2 * (cap) : 8;                           \
			(arr) = kn_xrealloc((arr), (cap) * sizeof(*(arr)));      \
		}                                                                \
	} while (0)

/* ---- strings ---- */

struct buf {
	char *p;
	size_t len, cap;
};

static void buf_put(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 32;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->p = kn_xrealloc(b->p, cap);
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_putc(struct buf *b, char c)
{
	buf_put(b, &c, 1);
}

/* buf_take() - the string built so far ("" when nothing was put), @b emptied */
static char *buf_take(struct buf *b)
{
	char *s = b->p ? b->p : kn_xstrdup("");

	memset(b, 0, sizeof(*b));
	return s;
}

/* A word being lexed: its text after quote removal and what kind of parts it had. */
struct wb {
	struct buf b;
	bool dynamic, quoted;
};

/* ---- state ---- */

enum tok_type { T_EOF, T_NEWLINE, T_WORD, T_OP, T_REDIR };
enum op { OP_SEMI, OP_AMP, OP_AND_IF, OP_OR_IF, OP_PIPE, OP_PIPE_AMP, OP_LPAREN, OP_RPAREN, OP_DSEMI, OP_SEMI_AMP, OP_DSEMI_AMP };
static const char *const op_text[] = { ";", "&", "&&", "||", "|", "|&", "(", ")", ";;", ";&", ";;&" };

struct token {
	enum tok_type type;
	enum op op;        /* T_OP */
	char redir[4];     /* T_REDIR: the operator */
	int fd;            /* T_REDIR: the number written before it, -1 when none */
	kn_sh_word w;      /* T_WORD, owned until taken */
	bool assign;       /* T_WORD: starts with an unquoted NAME= or NAME+= */
	bool rw_ok;        /* read where bash takes a reserved word (a command may start) */
	bool assign_ok;    /* read where bash takes an assignment (there, NAME[ opens a subscript) */
	size_t off;        /* offset in its source */
	size_t first_cmd;  /* raw commands before it was lexed: where a command starting with it goes */
};

struct src {
	const char *s;
	size_t len;
	size_t base; /* offset of s[0] in the text errors are reported against */
};

struct heredoc {
	char *delim;
	bool strip_tabs, quoted;
	size_t off;  /* of the << operator, for errors */
	char *body;  /* NULL until read */
};

struct raw_redir {
	kn_sh_redir r;
	size_t hd;   /* 1 + index in parse.hds for << and <<-, 0 otherwise */
};

/* Redirections written after a compound command: they apply to every command inside it. */
struct group {
	struct raw_redir *redirs;
	size_t n;
	size_t parent; /* 1 + index of the enclosing group, 0 for none */
};

struct raw_cmd {
	kn_sh_word *argv;
	size_t argc, cap_argv;
	char **assign;
	size_t n_assign, cap_assign;
	struct raw_redir *redirs;
	size_t n_redirs, cap_redirs;
	size_t group; /* 1 + index in parse.groups, 0 for none */
	size_t pipeline, pipe_index, pipe_len;
	bool background;
	unsigned depth;
	kn_sh_origin origin;
};

/* One kn_sh_parse() call. */
struct ctx {
	kn_sh_script *out;
	kn_error *err;
	size_t next_pipeline;
	size_t budget;  /* bytes of repeated work left */
	unsigned nest;  /* current recursion of step 1 */
};

/* Step 1 over one text, and everything nested in it (shared by its frames). */
struct parse {
	struct ctx *cx;
	struct raw_cmd *cmds;
	size_t n, cap;
	struct heredoc *hds;
	size_t n_hds, cap_hds;
	struct group *groups;
	size_t n_groups, cap_groups;
};

/*
 * A parser over one source: the text, a backtick's contents, a here-document
 * body.  A $( ) gets a frame of its own over the same source, so the word
 * around it keeps its place in the outer frame.
 */
/*
 * What the token before was, as far as bash's reader cares: it decides
 * whether the next word may be a reserved word or an assignment, and at an
 * assignment position NAME[ starts a subscript read to its matching ] (so
 * `x[ # ] ; rm -rf /` runs rm: the # is inside the word).  This follows
 * reserved_word_acceptable() and command_token_position() in bash's parse.y.
 */
enum prev {
	PREV_START,    /* nothing yet, newline ; & && || ( ) or a reserved word that a command follows */
	PREV_PIPE,     /* | |&: a command follows, but `time` is not reserved there */
	PREV_SEMISEMI, /* ;; ;& ;;&: a case pattern follows */
	PREV_TIME,     /* time, time -p, time -- */
	PREV_COPROC,   /* coproc */
	PREV_FNAME,    /* the word after `function` or `coproc` */
	PREV_FUNCTION, /* function */
	PREV_ASSIGN,   /* an assignment word */
	PREV_REDIR,    /* a redirection operator */
	PREV_WORD,     /* any other word */
};

struct frame {
	struct parse *p;
	const struct src *src;
	size_t pos;
	struct token la;   /* one token of lookahead */
	bool has_la;
	enum prev prev;    /* the last token lexed */
	bool redirlist;    /* the simple command being read has only redirections so far */
	bool casepat;      /* a case pattern is being read (set by the parser) */
	size_t *pending;   /* here-documents whose body starts after the next newline */
	size_t n_pending, cap_pending;
	unsigned depth;    /* of the commands parsed now */
	kn_sh_origin origin;
	size_t pipeline, pipe_index; /* place of the command parsed now */
	/* Inside a compound command that is one element of a pipeline (`curl x | (cd /tmp; sh)`),
	 * commands that are not piped themselves take that element's place. */
	bool inherit;
	size_t inh_pipeline, inh_index;
};

static int parse_list(struct frame *f, size_t *count);
static int parse_command(struct frame *f);
static int parse_function_body(struct frame *f);
static int lex_dollar(struct frame *f, struct wb *w, bool in_dq);
static int lex_backtick(struct frame *f, struct wb *w, bool in_dq);
static int lex_dquote(struct frame *f, struct wb *w, bool heredoc, size_t open);
static int lex_matched(struct frame *f, struct wb *w, char open, char close);
static int parse_text(struct ctx *cx, const char *text, unsigned depth, kn_sh_origin origin,
		      const char *wrappers, bool background, bool dynamic_string);

/* ---- errors and limits ---- */

static int syntax(const struct frame *f, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int syntax(const struct frame *f, size_t off, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return kn_error_setx(f->p->cx->err, EINVAL, "%s at offset %zu", msg, f->src->base + off);
}

static int too_deep(const struct frame *f, size_t off)
{
	return kn_error_setx(f->p->cx->err, E2BIG, "nesting deeper than %d levels at offset %zu",
			     SH_MAX_NEST, f->src->base + off);
}

/* quote_text() - '@s' for a message: at most 32 bytes, control characters shown as '?' */
static const char *quote_text(const char *s, char *buf, size_t size)
{
	size_t n = 0;

	buf[n++] = '\'';
	for (; *s && n + 2 < size && n <= 32; s++)
		buf[n++] = (unsigned char) *s < 0x20 || *s == 0x7f ? '?' : *s;
	buf[n++] = '\'';
	buf[n] = '\0';
	return buf;
}

static const char *tok_desc(const struct token *t, char *buf, size_t size)
{
	switch (t->type) {
	case T_EOF:
		return "end of input";
	case T_NEWLINE:
		return "newline";
	case T_OP:
		return quote_text(op_text[t->op], buf, size);
	case T_REDIR:
		return quote_text(t->redir, buf, size);
	case T_WORD:
		return quote_text(t->w.text, buf, size);
	}
	return "?";
}

/* charge() - take @n bytes of work from the budget; false when it is spent. */
static bool charge(struct ctx *cx, size_t n)
{
	if (n > cx->budget) {
		cx->budget = 0;
		return false;
	}
	cx->budget -= n;
	return true;
}

static int too_complex(const struct frame *f, size_t off)
{
	return kn_error_setx(f->p->cx->err, E2BIG,
			     "command too complex to check (work limit reached at offset %zu)", f->src->base + off);
}

static int nest_enter(const struct frame *f, size_t off)
{
	if (++f->p->cx->nest > SH_MAX_NEST)
		return too_deep(f, off);
	return 0;
}

/* ---- freeing ---- */

static void word_free(kn_sh_word *w)
{
	free(w->text);
	w->text = NULL;
}

static void redirs_free(kn_sh_redir *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		word_free(&r[i].target);
		free(r[i].heredoc);
	}
	free(r);
}

static void raw_redirs_free(struct raw_redir *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		word_free(&r[i].r.target);
	free(r);
}

static void raw_free(struct raw_cmd *c)
{
	for (size_t i = 0; i < c->argc; i++)
		word_free(&c->argv[i]);
	free(c->argv);
	for (size_t i = 0; i < c->n_assign; i++)
		free(c->assign[i]);
	free(c->assign);
	raw_redirs_free(c->redirs, c->n_redirs);
	memset(c, 0, sizeof(*c));
}

static void cmd_free(kn_sh_cmd *c)
{
	for (size_t i = 0; i < c->argc; i++)
		word_free(&c->argv[i]);
	free(c->argv);
	kn_strv_free(c->assign);
	redirs_free(c->redirs, c->n_redirs);
	free(c->wrappers);
	memset(c, 0, sizeof(*c));
}

static void parse_free(struct parse *p)
{
	for (size_t i = 0; i < p->n; i++)
		raw_free(&p->cmds[i]);
	free(p->cmds);
	for (size_t i = 0; i < p->n_hds; i++) {
		free(p->hds[i].delim);
		free(p->hds[i].body);
	}
	free(p->hds);
	for (size_t i = 0; i < p->n_groups; i++)
		raw_redirs_free(p->groups[i].redirs, p->groups[i].n);
	free(p->groups);
}

static void frame_init(struct frame *f, struct parse *p, const struct src *src, size_t pos,
		       unsigned depth, kn_sh_origin origin)
{
	memset(f, 0, sizeof(*f));
	f->p = p;
	f->src = src;
	f->pos = pos;
	f->depth = depth;
	f->origin = origin;
}

static void frame_free(struct frame *f)
{
	if (f->has_la && f->la.type == T_WORD)
		word_free(&f->la.w);
	f->has_la = false;
	free(f->pending);
	f->pending = NULL;
}

/* ---- lexer ---- */

static bool in_list(const char *const *list, const char *s, size_t n)
{
	for (; list && *list; list++)
		if (strlen(*list) == n && !memcmp(*list, s, n))
			return true;
	return false;
}


static int peekc(const struct frame *f, size_t k)
{
	return f->pos + k < f->src->len ? (unsigned char) f->src->s[f->pos + k] : -1;
}

static bool is_meta(int c)
{
	return c < 0 || (c && strchr(" \t\n;&|()<>", c));
}

static bool is_name_start(int c)
{
	return c == '_' || (c >= 0 && c < 128 && isalpha(c));
}

static bool is_name_char(int c)
{
	return c == '_' || (c >= 0 && c < 128 && isalnum(c));
}

static void put_utf8(struct buf *b, uint32_t cp)
{
	char u[4];

	if (cp < 0x80) {
		buf_putc(b, (char) cp);
	} else if (cp < 0x800) {
		u[0] = (char) (0xc0 | cp >> 6);
		u[1] = (char) (0x80 | (cp & 0x3f));
		buf_put(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char) (0xe0 | cp >> 12);
		u[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char) (0x80 | (cp & 0x3f));
		buf_put(b, u, 3);
	} else if (cp < 0x110000) {
		u[0] = (char) (0xf0 | cp >> 18);
		u[1] = (char) (0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char) (0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char) (0x80 | (cp & 0x3f));
		buf_put(b, u, 4);
	}
}

/* Up to @max digits of base @base at the cursor; *n set to how many were read. */
static uint32_t read_digits(struct frame *f, unsigned base, unsigned max, unsigned *n)
{
	uint32_t v = 0;

	for (*n = 0; *n < max; (*n)++) {
		int c = peekc(f, 0), d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			break;
		if ((unsigned) d >= base)
			break;
		v = v * base + (uint32_t) d;
		f->pos++;
	}
	return v;
}

/*
 * lex_ansi() - $'...': bash's ANSI-C quoting, escapes decoded, so $'\x72m'
 * is "rm".  A NUL ends the string for bash: the rest up to the quote is
 * dropped.
 */
static int lex_ansi(struct frame *f, struct wb *w)
{
	size_t open = f->pos;
	bool cut = false;

	f->pos += 2;
	w->quoted = true;
	for (;;) {
		int c = peekc(f, 0);
		uint32_t v;
		unsigned n;
		char out;

		if (c < 0)
			return syntax(f, open, "unterminated $'");
		f->pos++;
		if (c == '\'')
			return 0;
		if (c != '\\') {
			if (!cut)
				buf_putc(&w->b, (char) c);
			continue;
		}
		c = peekc(f, 0);
		if (c < 0)
			return syntax(f, open, "unterminated $'");
		f->pos++;
		switch (c) {
		case 'a': out = '\a'; break;
		case 'b': out = '\b'; break;
		case 'e': case 'E': out = 0x1b; break;
		case 'f': out = '\f'; break;
		case 'n': out = '\n'; break;
		case 'r': out = '\r'; break;
		case 't': out = '\t'; break;
		case 'v': out = '\v'; break;
		case '\\': case '\'': case '"': case '?': out = (char) c; break;
		case 'c':
			c = peekc(f, 0);
			if (c < 0)
				return syntax(f, open, "unterminated $'");
			f->pos++;
			out = (char) (c & 0x1f);
			break;
		case 'x': case 'u': case 'U':
			v = read_digits(f, 16, c == 'x' ? 2 : c == 'u' ? 4 : 8, &n);
			if (!n) {
				out = 0;
				if (!cut) {
					buf_putc(&w->b, '\\');
					buf_putc(&w->b, (char) c);
				}
				continue;
			}
			if (!v)
				cut = true;
			if (cut)
				continue;
			if (c == 'x')
				buf_putc(&w->b, (char) v); /* \xHH is a byte, not a code point */
			else
				put_utf8(&w->b, v);
			continue;
		default:
			if (c >= '0' && c <= '7') {
				f->pos--;
				v = read_digits(f, 8, 3, &n) & 0xff;
				if (!v)
					cut = true;
				out = (char) v;
				break;
			}
			if (!cut) {
				buf_putc(&w->b, '\\');
				buf_putc(&w->b, (char) c);
			}
			continue;
		}
		if (!out)
			cut = true;
		if (!cut)
			buf_putc(&w->b, out);
	}
}

/*
 * lex_subst() - $( ... ), <( ... ) or >( ... ) starting at @start (the $, <
 * or >): the commands inside are parsed by a frame of their own, one level
 * deeper.  The word keeps the text as written and becomes dynamic.
 */
static int lex_subst(struct frame *f, struct wb *w, size_t start)
{
	struct frame sub;
	struct token *t = NULL;
	size_t count;
	char desc[48];
	int r;

	if ((r = nest_enter(f, start)) < 0)
		return r;
	frame_init(&sub, f->p, f->src, start + 2, f->depth + 1, KN_SH_SUBST);
	r = parse_list(&sub, &count);
	if (r == 0) {
		t = &sub.la; /* parse_list() returns with the token that stopped it peeked */
		if (t->type == T_EOF)
			r = syntax(f, start, "unterminated %.2s", f->src->s + start);
		else if (t->type != T_OP || t->op != OP_RPAREN)
			r = syntax(&sub, t->off, "unexpected %s inside %.2s )", tok_desc(t, desc, sizeof(desc)),
				   f->src->s + start);
		else if (sub.n_pending)
			r = syntax(f, start, "here-document not terminated inside %.2s )", f->src->s + start);
		else
			f->pos = t->off + 1;
	}
	frame_free(&sub);
	f->p->cx->nest--;
	if (r < 0)
		return r;
	buf_put(&w->b, f->src->s + start, f->pos - start);
	w->dynamic = true;
	return 0;
}

static size_t match_paren(const char *s, size_t len, size_t i, unsigned depth);

/* skip_dquote() - from @i inside "...", the index past its closing quote, or @len */
static size_t skip_dquote(const char *s, size_t len, size_t i, unsigned depth)
{
	while (i < len && s[i] != '"') {
		if (s[i] == '\\')
			i += 2;
		else if (s[i] == '$' && i + 1 < len && s[i + 1] == '(')
			i = match_paren(s, len, i + 2, depth + 1) + 1;
		else
			i++;
	}
	return i < len ? i + 1 : len;
}

/*
 * match_paren() - from @i, just past an opening parenthesis, the index of
 * the one that closes it, or @len: quotes, escapes and backquotes are read
 * the way bash's parse_matched_pair() does, without parsing anything (it
 * decides what (( is before anything is parsed).  @depth bounds the
 * recursion through "$( ... )".
 */
static size_t match_paren(const char *s, size_t len, size_t i, unsigned depth)
{
	size_t open = 0;
	const char *q;

	if (depth > SH_MAX_NEST)
		return len;
	while (i < len) {
		switch (s[i]) {
		case '\\':
			i += 2;
			continue;
		case '\'':
			q = memchr(s + i + 1, '\'', len - i - 1);
			i = q ? (size_t) (q - s) + 1 : len;
			continue;
		case '`':
			for (i++; i < len && s[i] != '`'; i++)
				if (s[i] == '\\')
					i++;
			i++;
			continue;
		case '"':
			i = skip_dquote(s, len, i + 1, depth);
			continue;
		case '(':
			open++;
			break;
		case ')':
			if (open == 0)
				return i;
			open--;
			break;
		}
		i++;
	}
	return len;
}

/*
 * lex_arith() - (( ... )) at @open (its first parenthesis), part of a word
 * from @start.  Whether it is arithmetic is decided as bash does: the
 * parenthesis matching the second one must be followed by another;
 * otherwise nothing is consumed and 0 returned (the caller parses a
 * $( ( ... ) ) or ( ( ... ) )).  Substitutions inside are parsed.
 * Return: 1 when consumed, 0 when not arithmetic, or -errno.
 */
static int lex_arith(struct frame *f, size_t start, size_t open, struct wb *w)
{
	const char *s = f->src->s;
	size_t len = f->src->len, end = match_paren(s, len, open + 2, 0);
	struct wb scratch = { 0 };
	int r;

	if (!charge(f->p->cx, (end < len ? end : len) - open))
		return too_complex(f, open);
	if (end + 1 >= len || s[end + 1] != ')')
		return 0;
	if ((r = nest_enter(f, open)) < 0)
		return r;
	f->pos = open + 2;
	r = 0;
	while (r == 0 && f->pos < end) {
		int c = peekc(f, 0);

		if (c == '$')
			r = lex_dollar(f, &scratch, true);
		else if (c == '`')
			r = lex_backtick(f, &scratch, true);
		else
			f->pos += c == '\\' ? 2 : 1;
	}
	free(scratch.b.p);
	f->p->cx->nest--;
	if (r < 0)
		return r;
	if (f->pos != end)
		return syntax(f, open, "malformed arithmetic expression");
	f->pos = end + 2;
	if (w) {
		buf_put(&w->b, s + start, f->pos - start);
		w->dynamic = true;
	}
	return 1;
}

/* lex_param() - ${ ... }: the text as written, dynamic; substitutions in it are parsed. */
static int lex_param(struct frame *f, struct wb *w, bool in_dq)
{
	size_t start = f->pos;
	struct wb scratch = { 0 };
	int r;

	if ((r = nest_enter(f, start)) < 0)
		return r;
	f->pos += 2;
	for (;;) {
		int c = peekc(f, 0);

		if (c < 0) {
			r = syntax(f, start, "unterminated ${");
			break;
		}
		if (c == '}') {
			f->pos++;
			break;
		}
		if (c == '\\') {
			f->pos += peekc(f, 1) < 0 ? 1 : 2;
		} else if (c == '\'' && !in_dq) {
			const char *q = memchr(f->src->s + f->pos + 1, '\'', f->src->len - f->pos - 1);

			if (!q) {
				r = syntax(f, f->pos, "unterminated '");
				break;
			}
			f->pos = (size_t) (q - f->src->s) + 1;
		} else if (c == '"') {
			f->pos++;
			r = lex_dquote(f, &scratch, false, f->pos - 1);
		} else if (c == '$') {
			r = lex_dollar(f, &scratch, in_dq);
		} else if (c == '`') {
			r = lex_backtick(f, &scratch, in_dq);
		} else {
			f->pos++;
		}
		if (r < 0)
			break;
	}
	free(scratch.b.p);
	f->p->cx->nest--;
	if (r < 0)
		return r;
	buf_put(&w->b, f->src->s + start, f->pos - start);
	w->dynamic = true;
	return 0;
}

/* lex_dollar() - a $ at the cursor: an expansion (dynamic), $'...', $"..." or a plain $. */
static int lex_dollar(struct frame *f, struct wb *w, bool in_dq)
{
	size_t start = f->pos;
	int c = peekc(f, 1), r;

	if (c == '\'' && !in_dq)
		return lex_ansi(f, w);
	if (c == '"' && !in_dq) {
		/* $"...": a translated string, quoted like "..." */
		f->pos += 2;
		w->quoted = true;
		return lex_dquote(f, w, false, start + 1);
	}
	if (c == '(') {
		if (peekc(f, 2) == '(') {
			r = lex_arith(f, start, start + 1, w);
			if (r != 0)
				return r < 0 ? r : 0;
		}
		return lex_subst(f, w, start);
	}
	if (c == '{')
		return lex_param(f, w, in_dq);
	if (c == '[') {
		/* $[ ... ]: old-style arithmetic, read like a subscript */
		buf_putc(&w->b, '$');
		f->pos++;
		return lex_matched(f, w, '[', ']');
	}
	if (is_name_start(c)) {
		f->pos++;
		while (is_name_char(peekc(f, 0)))
			f->pos++;
	} else if (c > 0 && (isdigit(c) || strchr("@*#?-$!", c))) {
		f->pos += 2;
	} else {
		buf_putc(&w->b, '$');
		f->pos++;
		return 0;
	}
	buf_put(&w->b, f->src->s + start, f->pos - start);
	w->dynamic = true;
	return 0;
}

/*
 * lex_backtick() - `...`: the contents, with the backslashes that protect
 * ` $ \ (and " inside double quotes) removed, are a text of their own,
 * parsed one level deeper.
 */
static int lex_backtick(struct frame *f, struct wb *w, bool in_dq)
{
	size_t start = f->pos;
	struct buf inner = { 0 };
	struct frame sub;
	struct src src;
	size_t count;
	struct token *t;
	char desc[48];
	int r;

	for (f->pos++;; f->pos++) {
		int c = peekc(f, 0);

		if (c < 0) {
			free(inner.p);
			return syntax(f, start, "unterminated `");
		}
		if (c == '`')
			break;
		if (c == '\\') {
			int n = peekc(f, 1);

			if (n == '`' || n == '$' || n == '\\' || (in_dq && n == '"')) {
				buf_putc(&inner, (char) n);
				f->pos++;
				continue;
			}
		}
		buf_putc(&inner, (char) c);
	}
	f->pos++;
	buf_put(&w->b, f->src->s + start, f->pos - start);
	w->dynamic = true;
	if (!charge(f->p->cx, inner.len)) {
		free(inner.p);
		return too_complex(f, start);
	}
	if ((r = nest_enter(f, start)) < 0) {
		free(inner.p);
		return r;
	}
	src = (struct src) { inner.p ? inner.p : "", inner.len, f->src->base + start + 1 };
	frame_init(&sub, f->p, &src, 0, f->depth + 1, KN_SH_SUBST);
	r = parse_list(&sub, &count);
	if (r == 0) {
		t = &sub.la;
		if (t->type != T_EOF)
			r = syntax(&sub, t->off, "unexpected %s inside `...`", tok_desc(t, desc, sizeof(desc)));
		else if (sub.n_pending)
			r = syntax(f, start, "here-document not terminated inside `...`");
	}
	frame_free(&sub);
	f->p->cx->nest--;
	free(inner.p);
	return r;
}

/*
 * lex_dquote() - the inside of "..." (the cursor after the opening quote,
 * @open its offset), or with @heredoc an unquoted here-document body, where
 * " is an ordinary character and the end of the source ends it.
 */
static int lex_dquote(struct frame *f, struct wb *w, bool heredoc, size_t open)
{
	int r;

	if (!heredoc)
		w->quoted = true;
	for (;;) {
		int c = peekc(f, 0);

		if (c < 0)
			return heredoc ? 0 : syntax(f, open, "unterminated \"");
		if (c == '"' && !heredoc) {
			f->pos++;
			return 0;
		}
		if (c == '\\') {
			int n = peekc(f, 1);

			if (n == '\n') {
				f->pos += 2;
			} else if (n == '$' || n == '`' || n == '\\' || (n == '"' && !heredoc)) {
				buf_putc(&w->b, (char) n);
				f->pos += 2;
			} else {
				buf_putc(&w->b, '\\');
				f->pos++;
			}
			continue;
		}
		if (c == '$')
			r = lex_dollar(f, w, true);
		else if (c == '`')
			r = lex_backtick(f, w, true);
		else {
			buf_putc(&w->b, (char) c);
			f->pos++;
			r = 0;
		}
		if (r < 0)
			return r;
	}
}

/*
 * lex_matched() - from the @open at the cursor to its matching @close, as
 * bash's parse_matched_pair() reads it: quotes, escapes and substitutions
 * inside are honoured (and parsed), blanks, operators, newlines and # are
 * not special.  NAME[...] subscripts, $[...] and extended globs are read so.
 * The text as written joins the word, which becomes dynamic.
 */
static int lex_matched(struct frame *f, struct wb *w, char open, char close)
{
	size_t start = f->pos, depth = 0;
	struct wb scratch = { 0 };
	int r;

	if ((r = nest_enter(f, start)) < 0)
		return r;
	for (;;) {
		int c = peekc(f, 0);

		if (c < 0) {
			r = syntax(f, start, "unterminated %c", open);
			break;
		}
		if (c == open) {
			depth++;
			f->pos++;
		} else if (c == close) {
			f->pos++;
			if (--depth == 0)
				break;
		} else if (c == '\\') {
			f->pos += peekc(f, 1) < 0 ? 1 : 2;
		} else if (c == '\'') {
			const char *q = memchr(f->src->s + f->pos + 1, '\'', f->src->len - f->pos - 1);

			if (!q) {
				r = syntax(f, f->pos, "unterminated '");
				break;
			}
			f->pos = (size_t) (q - f->src->s) + 1;
		} else if (c == '"') {
			f->pos++;
			r = lex_dquote(f, &scratch, false, f->pos - 1);
		} else if (c == '$') {
			r = lex_dollar(f, &scratch, false);
		} else if (c == '`') {
			r = lex_backtick(f, &scratch, false);
		} else {
			f->pos++;
		}
		if (r < 0)
			break;
	}
	free(scratch.b.p);
	f->p->cx->nest--;
	if (r < 0)
		return r;
	buf_put(&w->b, f->src->s + start, f->pos - start);
	w->dynamic = true;
	return 0;
}

static int lex_word_into(struct frame *f, struct wb *w, struct token *t);

/*
 * lex_array() - the ( ... ) of NAME=( ... ): its elements, as written, join
 * the word.  Inside, # starts a comment and [ starting an element opens a
 * subscript, as in bash ([k ey]=v).
 */
static int lex_array(struct frame *f, struct wb *w)
{
	size_t start = f->pos;
	struct wb elem = { 0 };
	int r = nest_enter(f, start);

	for (f->pos++; r == 0;) {
		int c = peekc(f, 0);

		if (c == ' ' || c == '\t' || c == '\n') {
			f->pos++;
		} else if (c == '\\' && peekc(f, 1) == '\n') {
			f->pos += 2;
		} else if (c == '#') {
			const char *nl = memchr(f->src->s + f->pos, '\n', f->src->len - f->pos);

			f->pos = nl ? (size_t) (nl - f->src->s) : f->src->len;
		} else if (c == ')') {
			f->pos++;
			break;
		} else if (c < 0) {
			r = syntax(f, start, "unterminated array assignment");
		} else if (is_meta(c)) {
			r = syntax(f, f->pos, "unexpected '%c' in an array assignment", c);
		} else if (c == '[' && (r = lex_matched(f, &elem, '[', ']')) < 0) {
			break;
		} else {
			r = lex_word_into(f, &elem, NULL);
		}
	}
	f->p->cx->nest--;
	w->dynamic |= elem.dynamic;
	free(elem.b.p);
	if (r < 0)
		return r;
	buf_put(&w->b, f->src->s + start, f->pos - start);
	return 0;
}

/*
 * lex_word_into() - characters of one word, up to an unquoted metacharacter.
 * With @t (a token being lexed), NAME= prefixes are noted and NAME=( ... )
 * read whole.  Unquoted globs (* ? [...]), extended globs and brace
 * expansions make the word dynamic.
 */
static int lex_word_into(struct frame *f, struct wb *w, struct token *t)
{
	bool name = true, bracket = false, brace_list = false, last_glob = false, just_eq = false;
	unsigned brace = 0;
	int r = 0;

	for (;;) {
		int c = peekc(f, 0);
		bool after_eq = just_eq; /* the character before was the = ending NAME= */

		just_eq = false;

		if ((c == '<' || c == '>') && peekc(f, 1) == '(') {
			/* process substitution <( ) >( ) */
			r = lex_subst(f, w, f->pos);
			name = last_glob = false;
			if (r < 0)
				return r;
			continue;
		}
		if (c == '(' && last_glob
		    && !(t && t->rw_ok && w->b.len == 1 && w->b.p[0] == '!')) {
			/* extglob ?( ) *( ) +( ) @( ) !( ); but !( starting a command is ! and a subshell */
			if ((r = lex_matched(f, w, '(', ')')) < 0)
				return r;
			last_glob = false;
			continue;
		}
		if (c == '[' && t && t->assign_ok && name && w->b.len && !t->assign) {
			/* NAME[ where an assignment may be: the subscript is read to its ] */
			if ((r = lex_matched(f, w, '[', ']')) < 0)
				return r;
			name = peekc(f, 0) == '=' || (peekc(f, 0) == '+' && peekc(f, 1) == '=');
			continue;
		}
		if (c == '(' && after_eq) {
			/* NAME=( ... ); what may follow is more of the word, as in bash (a=(x)y is a string) */
			if ((r = lex_array(f, w)) < 0)
				return r;
			continue;
		}
		if (is_meta(c))
			return 0;
		last_glob = false;
		switch (c) {
		case '\\':
			if (peekc(f, 1) == '\n') {
				f->pos += 2;
				continue;
			}
			name = false;
			w->quoted = true;
			if (peekc(f, 1) < 0) {
				/* a trailing backslash stays itself */
				buf_putc(&w->b, '\\');
				f->pos++;
			} else {
				buf_putc(&w->b, (char) peekc(f, 1));
				f->pos += 2;
			}
			continue;
		case '\'': {
			const char *q = memchr(f->src->s + f->pos + 1, '\'', f->src->len - f->pos - 1);

			if (!q)
				return syntax(f, f->pos, "unterminated '");
			buf_put(&w->b, f->src->s + f->pos + 1, (size_t) (q - f->src->s) - f->pos - 1);
			f->pos = (size_t) (q - f->src->s) + 1;
			w->quoted = true;
			name = false;
			continue;
		}
		case '"':
			f->pos++;
			r = lex_dquote(f, w, false, f->pos - 1);
			break;
		case '$':
			r = lex_dollar(f, w, false);
			break;
		case '`':
			r = lex_backtick(f, w, false);
			break;
		default:
			if (name && t) {
				if (c == '=' && w->b.len) {
					t->assign = true;
					name = false;
					just_eq = true;
				} else if (c == '+' && w->b.len && peekc(f, 1) == '=') {
					/* NAME+=value */
				} else if (!(w->b.len ? is_name_char(c) : is_name_start(c))) {
					name = false;
				}
			}
			if (c == '*' || c == '?') {
				w->dynamic = true;
				last_glob = true;
			} else if (c == '+' || c == '@' || c == '!') {
				last_glob = true;
			} else if (c == '[') {
				bracket = true;
			} else if (c == ']' && bracket) {
				w->dynamic = true;
			} else if (c == '{') {
				brace++;
			} else if (c == ',' && brace) {
				brace_list = true;
			} else if (c == '.' && brace && peekc(f, 1) == '.') {
				brace_list = true;
			} else if (c == '}' && brace) {
				brace--;
				if (brace_list)
					w->dynamic = true;
			}
			buf_putc(&w->b, (char) c);
			f->pos++;
			continue;
		}
		name = false;
		if (r < 0)
			return r;
	}
}

static const struct {
	const char *text;
	enum tok_type type;
	enum op op;
} ops[] = {
	{ ";;&", T_OP, OP_DSEMI_AMP }, { ";;", T_OP, OP_DSEMI }, { ";&", T_OP, OP_SEMI_AMP }, { ";", T_OP, OP_SEMI },
	{ "&&", T_OP, OP_AND_IF }, { "&>>", T_REDIR, 0 }, { "&>", T_REDIR, 0 }, { "&", T_OP, OP_AMP },
	{ "||", T_OP, OP_OR_IF }, { "|&", T_OP, OP_PIPE_AMP }, { "|", T_OP, OP_PIPE },
	{ "(", T_OP, OP_LPAREN }, { ")", T_OP, OP_RPAREN },
	{ "<<<", T_REDIR, 0 }, { "<<-", T_REDIR, 0 }, { "<<", T_REDIR, 0 }, { "<>", T_REDIR, 0 },
	{ "<&", T_REDIR, 0 }, { "<", T_REDIR, 0 },
	{ ">>", T_REDIR, 0 }, { ">|", T_REDIR, 0 }, { ">&", T_REDIR, 0 }, { ">", T_REDIR, 0 },
};

/* lex_op() - the operator at the cursor (the caller knows one is there). */
static void lex_op(struct frame *f, struct token *t)
{
	const char *s = f->src->s + f->pos;
	size_t left = f->src->len - f->pos;

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		size_t n = strlen(ops[i].text);

		if (n <= left && !memcmp(s, ops[i].text, n)) {
			t->type = ops[i].type;
			t->op = ops[i].op;
			if (t->type == T_REDIR)
				memcpy(t->redir, ops[i].text, n + 1);
			f->pos += n;
			return;
		}
	}
}

/* track_position() - what bash's reader makes of @t, for the token after it (see enum prev) */
static void track_position(struct frame *f, const struct token *t)
{
	static const char *const introducers[] = { "if", "then", "else", "elif", "do", "done", "fi", "esac",
						   "while", "until", "{", "}", "!", NULL };
	enum prev prev = f->prev;

	switch (t->type) {
	case T_EOF:
		return;
	case T_NEWLINE:
		f->prev = PREV_START;
		break;
	case T_OP:
		f->prev = t->op == OP_PIPE || t->op == OP_PIPE_AMP ? PREV_PIPE
			: t->op == OP_DSEMI || t->op == OP_SEMI_AMP || t->op == OP_DSEMI_AMP ? PREV_SEMISEMI
			: PREV_START;
		break;
	case T_REDIR:
		/* redirections before the command name keep the reader in command position */
		if (t->rw_ok)
			f->redirlist = true;
		f->prev = PREV_REDIR;
		return;
	case T_WORD:
		if (prev == PREV_REDIR) {
			f->prev = PREV_WORD; /* a redirection's target: the command has not begun */
			return;
		}
		f->prev = PREV_WORD;
		if (t->rw_ok && !t->w.quoted && !t->w.dynamic) {
			const char *s = t->w.text;

			if (in_list(introducers, s, strlen(s)))
				f->prev = PREV_START;
			else if (!strcmp(s, "time") && prev != PREV_PIPE && prev != PREV_SEMISEMI)
				f->prev = PREV_TIME;
			else if (prev == PREV_TIME && (!strcmp(s, "-p") || !strcmp(s, "--")))
				f->prev = PREV_TIME;
			else if (!strcmp(s, "coproc"))
				f->prev = PREV_COPROC;
			else if (!strcmp(s, "function"))
				f->prev = PREV_FUNCTION;
		}
		if (f->prev == PREV_WORD && (prev == PREV_COPROC || prev == PREV_FUNCTION))
			f->prev = PREV_FNAME;
		else if (f->prev == PREV_WORD && t->assign_ok && t->assign)
			f->prev = PREV_ASSIGN;
		break;
	}
	f->redirlist = false;
}

/* lex() - the next token: blanks, line continuations and comments skipped. */
static int lex(struct frame *f, struct token *t)
{
	struct wb w = { 0 };
	int c, r;

	memset(t, 0, sizeof(*t));
	t->fd = -1;
	for (;;) {
		c = peekc(f, 0);
		if (c == ' ' || c == '\t') {
			f->pos++;
		} else if (c == '\\' && peekc(f, 1) == '\n') {
			f->pos += 2;
		} else if (c == '#') {
			const char *nl = memchr(f->src->s + f->pos, '\n', f->src->len - f->pos);

			f->pos = nl ? (size_t) (nl - f->src->s) : f->src->len;
		} else {
			break;
		}
	}
	t->off = f->pos;
	t->first_cmd = f->p->n;
	t->rw_ok = f->prev <= PREV_FNAME;
	t->assign_ok = !f->casepat && f->prev != PREV_SEMISEMI
		       && (t->rw_ok || f->prev == PREV_ASSIGN || (f->redirlist && f->prev != PREV_REDIR));
	if (c < 0) {
		t->type = T_EOF;
	} else if (c == '\n') {
		t->type = T_NEWLINE;
		f->pos++;
	} else if (is_meta(c) && !((c == '<' || c == '>') && peekc(f, 1) == '(')) {
		lex_op(f, t);
	} else {
		r = lex_word_into(f, &w, t);
		if (r < 0) {
			free(w.b.p);
			return r;
		}
		c = peekc(f, 0);
		if ((c == '<' || c == '>') && peekc(f, 1) != '(' && !w.quoted && !w.dynamic && w.b.len
		    && w.b.len <= 9 && strspn(w.b.p, "0123456789") == w.b.len) {
			/* 2>&1: the digits are the fd of the redirection */
			t->fd = atoi(w.b.p);
			free(w.b.p);
			t->assign = false;
			lex_op(f, t);
		} else {
			t->type = T_WORD;
			t->w.dynamic = w.dynamic;
			t->w.quoted = w.quoted;
			t->w.text = buf_take(&w.b);
		}
	}
	track_position(f, t);
	return 0;
}

/* ---- parser: tokens ---- */

static int peek(struct frame *f, struct token **t)
{
	int r;

	if (!f->has_la) {
		if ((r = lex(f, &f->la)) < 0)
			return r;
		f->has_la = true;
	}
	*t = &f->la;
	return 0;
}

/*
 * read_heredocs() - the bodies of the here-documents whose operators were on
 * the line just ended, in order.  An unquoted delimiter means the body is
 * expanded: its substitutions are parsed like those of a "..." string.
 */
static int read_heredocs(struct frame *f)
{
	const char *s = f->src->s;
	size_t len = f->src->len;
	int r = 0;

	for (size_t i = 0; i < f->n_pending && r == 0; i++) {
		struct heredoc *h = &f->p->hds[f->pending[i]];
		size_t dlen = strlen(h->delim), body_off = f->pos;
		struct buf body = { 0 };

		for (;;) {
			size_t line = body.len;

			if (f->pos >= len) {
				char q[48];

				free(body.p);
				return syntax(f, h->off, "here-document <<%s has no such line",
					      quote_text(h->delim, q, sizeof(q)));
			}
			while (h->strip_tabs && f->pos < len && s[f->pos] == '\t')
				f->pos++;
			/*
			 * One logical line.  Unquoted, bash joins \<newline> first (EO\
			 * then F is the delimiter EOF; foo\ then EOF is not), and only
			 * then compares with the delimiter or strips tabs.
			 */
			while (f->pos < len && s[f->pos] != '\n') {
				if (s[f->pos] == '\\' && !h->quoted && f->pos + 1 < len) {
					if (s[f->pos + 1] != '\n')
						buf_put(&body, s + f->pos, 2);
					f->pos += 2;
					continue;
				}
				buf_putc(&body, s[f->pos++]);
			}
			if (f->pos < len)
				f->pos++;
			if (body.len - line == dlen && (!dlen || !memcmp(body.p + line, h->delim, dlen))) {
				body.len = line;
				if (body.p)
					body.p[line] = '\0';
				break;
			}
			buf_putc(&body, '\n');
		}
		h->body = buf_take(&body);
		if (!h->quoted && strpbrk(h->body, "$`")) {
			struct src src = { h->body, strlen(h->body), f->src->base + body_off };
			struct frame sub;
			struct wb scratch = { 0 };

			if (!charge(f->p->cx, src.len))
				return too_complex(f, body_off);
			frame_init(&sub, f->p, &src, 0, f->depth, f->origin);
			r = lex_dquote(&sub, &scratch, true, 0);
			free(scratch.b.p);
			frame_free(&sub);
		}
	}
	f->n_pending = 0;
	return r;
}

/* advance() - drop the lookahead; past a newline, read the pending here-documents. */
static int advance(struct frame *f)
{
	bool newline = f->has_la && f->la.type == T_NEWLINE;

	if (f->has_la && f->la.type == T_WORD)
		word_free(&f->la.w);
	f->has_la = false;
	return newline && f->n_pending ? read_heredocs(f) : 0;
}

/* take_word() - move the lookahead word into @w and advance. */
static int take_word(struct frame *f, kn_sh_word *w)
{
	*w = f->la.w;
	f->la.w.text = NULL;
	return advance(f);
}

static bool is_kw(const struct token *t, const char *kw)
{
	return t->type == T_WORD && !t->w.quoted && !t->w.dynamic && !strcmp(t->w.text, kw);
}

/* is_rw() - @t is the reserved word @kw: bash recognises one only where a command may start */
static bool is_rw(const struct token *t, const char *kw)
{
	return t->rw_ok && is_kw(t, kw);
}

static bool is_op(const struct token *t, enum op op)
{
	return t->type == T_OP && t->op == op;
}

/* A token that ends a list: end of input, ) ;; ;& ;;& or a closing reserved word in command position. */
static bool ends_list(const struct token *t)
{
	static const char *const closers[] = { "then", "elif", "else", "fi", "do", "done", "esac", "}" };

	if (t->type == T_EOF || is_op(t, OP_RPAREN) || is_op(t, OP_DSEMI) || is_op(t, OP_SEMI_AMP)
	    || is_op(t, OP_DSEMI_AMP))
		return true;
	for (size_t i = 0; i < sizeof(closers) / sizeof(closers[0]); i++)
		if (is_rw(t, closers[i]))
			return true;
	return false;
}

static int unexpected(struct frame *f, const struct token *t)
{
	char buf[48];

	return syntax(f, t->off, "unexpected %s", tok_desc(t, buf, sizeof(buf)));
}

/* expect_kw() - the reserved word @kw, where a command could start unless @anywhere (bash's `case x in`, `for x do`) */
static int expect_kw(struct frame *f, const char *kw, bool anywhere)
{
	struct token *t;
	char buf[48];
	int r;

	if ((r = peek(f, &t)) < 0)
		return r;
	if (!anywhere && is_kw(t, kw) && !t->rw_ok)
		return syntax(f, t->off, "'%s' must follow ; or a newline", kw);
	if (!is_kw(t, kw))
		return syntax(f, t->off, "expected '%s', found %s", kw, tok_desc(t, buf, sizeof(buf)));
	return advance(f);
}

static int expect_op(struct frame *f, enum op op)
{
	struct token *t;
	char buf[48];
	int r;

	if ((r = peek(f, &t)) < 0)
		return r;
	if (!is_op(t, op))
		return syntax(f, t->off, "expected '%s', found %s", op_text[op], tok_desc(t, buf, sizeof(buf)));
	return advance(f);
}

static int skip_newlines(struct frame *f)
{
	struct token *t;
	int r;

	while ((r = peek(f, &t)) == 0 && t->type == T_NEWLINE)
		if ((r = advance(f)) < 0)
			break;
	return r;
}

/* ---- parser: commands ---- */

/* emit_raw() - put the finished simple command @c at @at (before what its words contributed). */
static void emit_raw(struct frame *f, size_t at, struct raw_cmd *c)
{
	struct parse *p = f->p;

	c->pipeline = f->pipeline;
	c->pipe_index = f->pipe_index;
	c->pipe_len = 1;
	c->depth = f->depth;
	c->origin = f->origin;
	if (c->assign) {
		GROW(c->assign, c->n_assign, c->cap_assign);
		c->assign[c->n_assign] = NULL;
	}
	if (f->depth > KN_SH_MAX_DEPTH || p->n >= KN_SH_MAX_CMDS) {
		p->cx->out->truncated = true;
		raw_free(c);
		return;
	}
	GROW(p->cmds, p->n, p->cap);
	memmove(&p->cmds[at + 1], &p->cmds[at], (p->n - at) * sizeof(p->cmds[0]));
	p->cmds[at] = *c;
	p->n++;
	memset(c, 0, sizeof(*c));
}

/* parse_redir() - an operator and its word; << and <<- register a pending here-document. */
static int parse_redir(struct frame *f, struct raw_redir **list, size_t *n, size_t *cap)
{
	struct raw_redir rr = { 0 };
	struct token *t;
	size_t off = f->la.off;
	int r;

	memcpy(rr.r.op, f->la.redir, sizeof(rr.r.op));
	rr.r.fd = f->la.fd;
	if ((r = advance(f)) < 0 || (r = peek(f, &t)) < 0)
		return r;
	if (t->type != T_WORD)
		return syntax(f, off, "'%s' needs a word after it", rr.r.op);
	if ((r = take_word(f, &rr.r.target)) < 0) {
		word_free(&rr.r.target);
		return r;
	}
	if (!strcmp(rr.r.op, "<<") || !strcmp(rr.r.op, "<<-")) {
		struct parse *p = f->p;

		GROW(p->hds, p->n_hds, p->cap_hds);
		p->hds[p->n_hds] = (struct heredoc) {
			.delim = kn_xstrdup(rr.r.target.text),
			.strip_tabs = rr.r.op[2] == '-',
			.quoted = rr.r.target.quoted,
			.off = off,
		};
		GROW(f->pending, f->n_pending, f->cap_pending);
		f->pending[f->n_pending++] = p->n_hds;
		rr.hd = ++p->n_hds;
	}
	GROW(*list, *n, *cap);
	(*list)[(*n)++] = rr;
	return 0;
}

static void push_word(struct raw_cmd *c, kn_sh_word *w)
{
	GROW(c->argv, c->argc, c->cap_argv);
	c->argv[c->argc++] = *w;
	memset(w, 0, sizeof(*w));
}

/* parse_cond() - the rest of [[ ... ]]: operators inside are words of the test. */
static int parse_cond(struct frame *f, struct raw_cmd *c, size_t open)
{
	struct token *t;
	kn_sh_word w;
	int r;

	for (;;) {
		if ((r = peek(f, &t)) < 0)
			return r;
		if (t->type == T_NEWLINE) {
			if ((r = advance(f)) < 0)
				return r;
			continue;
		}
		if (t->type == T_WORD) {
			bool end = is_kw(t, "]]");

			if ((r = take_word(f, &w)) < 0) {
				word_free(&w);
				return r;
			}
			push_word(c, &w);
			if (end)
				return 0;
			continue;
		}
		if (t->type == T_EOF || is_op(t, OP_SEMI) || is_op(t, OP_AMP) || is_op(t, OP_DSEMI)
		    || is_op(t, OP_SEMI_AMP) || is_op(t, OP_DSEMI_AMP))
			return syntax(f, open, "unterminated [[");
		w = (kn_sh_word) { .text = kn_xstrdup(t->type == T_OP ? op_text[t->op] : t->redir) };
		push_word(c, &w);
		if ((r = advance(f)) < 0)
			return r;
	}
}

/*
 * parse_simple() - assignments, words and redirections; or a function
 * definition (NAME ( ) BODY), whose body is parsed like any compound command.
 */
static int parse_simple(struct frame *f)
{
	struct raw_cmd c = { 0 };
	struct token *t;
	kn_sh_word w;
	size_t at;
	int r;

	if ((r = peek(f, &t)) < 0)
		return r;
	at = t->first_cmd;
	for (;;) {
		if ((r = peek(f, &t)) < 0)
			goto fail;
		if (t->type == T_REDIR) {
			if ((r = parse_redir(f, &c.redirs, &c.n_redirs, &c.cap_redirs)) < 0)
				goto fail;
			continue;
		}
		if (t->type != T_WORD)
			break;
		if (c.argc == 0 && t->assign) {
			GROW(c.assign, c.n_assign, c.cap_assign);
			c.assign[c.n_assign++] = t->w.text;
			t->w.text = NULL;
			if ((r = advance(f)) < 0)
				goto fail;
			continue;
		}
		bool cond = c.argc == 0 && !c.n_assign && is_rw(t, "[[");
		size_t off = t->off;

		if ((r = take_word(f, &w)) < 0) {
			word_free(&w);
			goto fail;
		}
		push_word(&c, &w);
		if (cond && (r = parse_cond(f, &c, off)) < 0)
			goto fail;
		if (c.argc == 1 && !c.n_assign && !c.n_redirs && !cond) {
			if ((r = peek(f, &t)) < 0)
				goto fail;
			if (is_op(t, OP_LPAREN)) {
				/* NAME ( ) BODY: the name is not a command */
				raw_free(&c);
				if ((r = advance(f)) < 0 || (r = expect_op(f, OP_RPAREN)) < 0)
					return r;
				return parse_function_body(f);
			}
		}
	}
	emit_raw(f, at, &c);
	return 0;
fail:
	raw_free(&c);
	return r;
}

/* parse_body() - a compound command's list: one level deeper, origin SUBSHELL; an empty one is an error. */
static int parse_body(struct frame *f, const char *what)
{
	unsigned depth = f->depth;
	kn_sh_origin origin = f->origin;
	struct token *t;
	size_t count;
	char buf[48];
	int r;

	f->depth++;
	f->origin = KN_SH_SUBSHELL;
	r = parse_list(f, &count);
	f->depth = depth;
	f->origin = origin;
	if (r == 0 && count == 0 && what) {
		if ((r = peek(f, &t)) < 0)
			return r;
		return syntax(f, t->off, "empty %s before %s", what, tok_desc(t, buf, sizeof(buf)));
	}
	return r;
}

static int parse_if(struct frame *f)
{
	struct token *t;
	int r;

	if ((r = advance(f)) < 0 || (r = parse_body(f, "condition")) < 0 || (r = expect_kw(f, "then", false)) < 0
	    || (r = parse_body(f, "then branch")) < 0)
		return r;
	for (;;) {
		if ((r = peek(f, &t)) < 0)
			return r;
		if (is_rw(t, "elif")) {
			if ((r = advance(f)) < 0 || (r = parse_body(f, "condition")) < 0
			    || (r = expect_kw(f, "then", false)) < 0 || (r = parse_body(f, "then branch")) < 0)
				return r;
			continue;
		}
		if (is_rw(t, "else") && ((r = advance(f)) < 0 || (r = parse_body(f, "else branch")) < 0))
			return r;
		return expect_kw(f, "fi", false);
	}
}

/* do LIST done; @any_do: `for x do`, where bash takes the do right after the name */
static int parse_do_done(struct frame *f, bool any_do)
{
	int r;

	if ((r = expect_kw(f, "do", any_do)) < 0 || (r = parse_body(f, "loop body")) < 0)
		return r;
	return expect_kw(f, "done", false);
}

static int parse_while(struct frame *f)
{
	int r;

	if ((r = advance(f)) < 0 || (r = parse_body(f, "condition")) < 0)
		return r;
	return parse_do_done(f, false);
}

/* for/select NAME [in WORDS] ; do ... done, and for (( ; ; )) do ... done */
static int parse_for(struct frame *f)
{
	struct token *t;
	bool in_list = true;
	int r;

	if ((r = advance(f)) < 0 || (r = peek(f, &t)) < 0)
		return r;
	if (is_op(t, OP_LPAREN)) {
		size_t open = t->off;

		f->has_la = false; /* an operator: nothing to free */
		r = lex_arith(f, open, open, NULL);
		if (r == 0)
			r = syntax(f, open, "expected (( after for");
		if (r < 0)
			return r;
	} else {
		if (t->type != T_WORD)
			return unexpected(f, t);
		if ((r = advance(f)) < 0 || (r = skip_newlines(f)) < 0 || (r = peek(f, &t)) < 0)
			return r;
		in_list = is_kw(t, "in");
		if (in_list) {
			/* the words are not commands; their substitutions are */
			for (r = advance(f); r == 0 && (r = peek(f, &t)) == 0 && t->type == T_WORD;)
				r = advance(f);
			if (r < 0)
				return r;
			if (!is_op(t, OP_SEMI) && t->type != T_NEWLINE)
				return unexpected(f, t);
		}
	}
	if ((r = peek(f, &t)) < 0)
		return r;
	if (is_op(t, OP_SEMI) && (r = advance(f)) < 0)
		return r;
	if ((r = skip_newlines(f)) < 0)
		return r;
	return parse_do_done(f, !in_list);
}

static int parse_case(struct frame *f)
{
	struct token *t;
	int r;

	if ((r = advance(f)) < 0 || (r = peek(f, &t)) < 0)
		return r;
	if (t->type != T_WORD)
		return unexpected(f, t);
	if ((r = advance(f)) < 0 || (r = skip_newlines(f)) < 0 || (r = expect_kw(f, "in", true)) < 0)
		return r;
	for (;;) {
		/* no assignment, hence no NAME[ subscript, in a pattern: `x[ # ])` has a comment */
		f->casepat = true;
		if ((r = skip_newlines(f)) < 0 || (r = peek(f, &t)) < 0)
			return r;
		if (is_kw(t, "esac")) {
			f->casepat = false;
			return advance(f);
		}
		if (is_op(t, OP_LPAREN) && ((r = advance(f)) < 0 || (r = peek(f, &t)) < 0))
			return r;
		for (;;) {
			if (t->type != T_WORD)
				return unexpected(f, t);
			if ((r = advance(f)) < 0 || (r = peek(f, &t)) < 0)
				return r;
			if (!is_op(t, OP_PIPE))
				break;
			if ((r = advance(f)) < 0 || (r = peek(f, &t)) < 0)
				return r;
		}
		if ((r = expect_op(f, OP_RPAREN)) < 0)
			return r;
		f->casepat = false;
		if ((r = parse_body(f, NULL)) < 0 || (r = peek(f, &t)) < 0)
			return r;
		if (is_op(t, OP_DSEMI) || is_op(t, OP_SEMI_AMP) || is_op(t, OP_DSEMI_AMP)) {
			if ((r = advance(f)) < 0)
				return r;
			continue;
		}
		return expect_kw(f, "esac", false);
	}
}

/* function NAME [( )] BODY */
static int parse_function(struct frame *f)
{
	struct token *t;
	int r;

	if ((r = advance(f)) < 0 || (r = peek(f, &t)) < 0)
		return r;
	if (t->type != T_WORD)
		return unexpected(f, t);
	if ((r = advance(f)) < 0 || (r = peek(f, &t)) < 0)
		return r;
	if (is_op(t, OP_LPAREN) && ((r = advance(f)) < 0 || (r = expect_op(f, OP_RPAREN)) < 0))
		return r;
	return parse_function_body(f);
}

/* The group of @redirs covers the commands of [@start, @end) that no inner group covers. */
static void make_group(struct frame *f, size_t start, size_t end, size_t first_group, struct raw_redir *redirs,
		       size_t n)
{
	struct parse *p = f->p;
	size_t id;

	GROW(p->groups, p->n_groups, p->cap_groups);
	p->groups[p->n_groups] = (struct group) { .redirs = redirs, .n = n };
	id = ++p->n_groups;
	for (size_t i = start; i < end; i++)
		if (!p->cmds[i].group)
			p->cmds[i].group = id;
	for (size_t g = first_group; g + 1 < id; g++)
		if (!p->groups[g].parent)
			p->groups[g].parent = id;
}

/*
 * parse_compound() - ( ), { }, if, while, until, for, select, case, (( )),
 * a function definition, then the redirections that follow it.
 */
static int parse_compound(struct frame *f, int (*body)(struct frame *))
{
	struct token *t = &f->la;
	size_t start = t->first_cmd, first_group = f->p->n_groups, off = t->off;
	size_t pipeline = f->pipeline, pipe_index = f->pipe_index;
	bool inherit = f->inherit;
	size_t inh_pipeline = f->inh_pipeline, inh_index = f->inh_index;
	struct raw_redir *redirs = NULL;
	size_t n = 0, cap = 0, end;
	int r;

	if ((r = nest_enter(f, off)) < 0)
		return r;
	f->inherit = true;
	f->inh_pipeline = pipeline;
	f->inh_index = pipe_index;
	r = body(f);
	f->inherit = inherit;
	f->inh_pipeline = inh_pipeline;
	f->inh_index = inh_index;
	f->pipeline = pipeline;
	f->pipe_index = pipe_index;
	f->p->cx->nest--;
	end = f->p->n; /* not the commands of the redirections' own words (done < <(ls)) */
	while (r == 0 && (r = peek(f, &t)) == 0 && t->type == T_REDIR)
		r = parse_redir(f, &redirs, &n, &cap);
	if (r < 0) {
		raw_redirs_free(redirs, n);
		return r;
	}
	if (n)
		make_group(f, start, end, first_group, redirs, n);
	return 0;
}

static int parse_subshell(struct frame *f)
{
	int r;

	if ((r = advance(f)) < 0 || (r = parse_body(f, "subshell")) < 0)
		return r;
	return expect_op(f, OP_RPAREN);
}

static int parse_group(struct frame *f)
{
	int r;

	if ((r = advance(f)) < 0 || (r = parse_body(f, "group")) < 0)
		return r;
	return expect_kw(f, "}", false);
}

/* (( expression )) as a command; ( ( ... ) ) when the parentheses say it is not arithmetic */
static int parse_arith_or_subshell(struct frame *f)
{
	size_t open = f->la.off;
	int r;

	f->has_la = false; /* an operator: nothing to free */
	r = lex_arith(f, open, open, NULL);
	if (r != 0)
		return r < 0 ? r : 0;
	/* not arithmetic: read the ( again, as a subshell */
	struct token *t;

	f->pos = open;
	if ((r = peek(f, &t)) < 0)
		return r;
	return parse_subshell(f);
}

static const struct {
	const char *kw;
	int (*parse)(struct frame *);
} compounds[] = {
	{ "{", parse_group }, { "if", parse_if }, { "while", parse_while }, { "until", parse_while },
	{ "for", parse_for }, { "select", parse_for }, { "case", parse_case }, { "function", parse_function },
};

static int parse_command(struct frame *f)
{
	struct token *t;
	int r;

	if ((r = peek(f, &t)) < 0)
		return r;
	if (is_op(t, OP_LPAREN)) {
		bool dbl = t->off + 1 < f->src->len && f->src->s[t->off + 1] == '(';

		return parse_compound(f, dbl ? parse_arith_or_subshell : parse_subshell);
	}
	for (size_t i = 0; i < sizeof(compounds) / sizeof(compounds[0]); i++)
		if (is_rw(t, compounds[i].kw))
			return parse_compound(f, compounds[i].parse);
	if (ends_list(t) && t->type != T_EOF)
		return unexpected(f, t);
	if (t->type == T_WORD || t->type == T_REDIR)
		return parse_simple(f);
	return unexpected(f, t);
}

/* parse_function_body() - what follows NAME ( ): a compound command, after optional newlines */
static int parse_function_body(struct frame *f)
{
	struct token *t;
	int r;

	if ((r = skip_newlines(f)) < 0 || (r = peek(f, &t)) < 0)
		return r;
	for (size_t i = 0; i < sizeof(compounds) / sizeof(compounds[0]); i++)
		if (is_rw(t, compounds[i].kw) && strcmp(compounds[i].kw, "function"))
			return parse_command(f);
	if (is_op(t, OP_LPAREN))
		return parse_command(f);
	return syntax(f, t->off, "function body must be a compound command");
}

/* [!] [time [-p]] command [ | command ]... */
static int parse_pipeline(struct frame *f)
{
	struct parse *p = f->p;
	struct token *t;
	size_t start, pipeline, n;
	int r;

	if ((r = peek(f, &t)) < 0)
		return r;
	start = t->first_cmd;
	if (is_rw(t, "!") || is_rw(t, "time")) {
		while (is_rw(t, "!") || is_rw(t, "time") || (f->prev == PREV_TIME && (is_kw(t, "-p") || is_kw(t, "--"))))
			if ((r = advance(f)) < 0 || (r = peek(f, &t)) < 0)
				return r;
		if (t->type == T_EOF || t->type == T_NEWLINE || (t->type == T_OP && t->op != OP_LPAREN))
			return 0; /* `time` or `!` alone */
	}
	pipeline = p->cx->next_pipeline++;
	for (n = 1;; n++) {
		f->pipeline = pipeline;
		f->pipe_index = n - 1;
		if ((r = parse_command(f)) < 0 || (r = peek(f, &t)) < 0)
			return r;
		if (!is_op(t, OP_PIPE) && !is_op(t, OP_PIPE_AMP))
			break;
		if ((r = advance(f)) < 0 || (r = skip_newlines(f)) < 0)
			return r;
	}
	for (size_t i = start; i < p->n; i++) {
		struct raw_cmd *c = &p->cmds[i];

		if (c->pipeline != pipeline)
			continue;
		c->pipe_len = n;
		if (n == 1 && f->inherit) {
			c->pipeline = f->inh_pipeline;
			c->pipe_index = f->inh_index;
		}
	}
	return 0;
}

static int parse_and_or(struct frame *f)
{
	struct token *t;
	int r;

	if ((r = parse_pipeline(f)) < 0)
		return r;
	while ((r = peek(f, &t)) == 0 && (is_op(t, OP_AND_IF) || is_op(t, OP_OR_IF)))
		if ((r = advance(f)) < 0 || (r = skip_newlines(f)) < 0 || (r = parse_pipeline(f)) < 0)
			return r;
	return r;
}

/*
 * parse_list() - and-or lists separated by ; & or newlines, up to a token
 * that ends the list (left peeked for the caller); @count says how many.
 */
static int parse_list(struct frame *f, size_t *count)
{
	struct token *t;
	int r;

	*count = 0;
	for (;;) {
		size_t start;

		if ((r = skip_newlines(f)) < 0 || (r = peek(f, &t)) < 0)
			return r;
		if (ends_list(t))
			return 0;
		start = t->first_cmd;
		if ((r = parse_and_or(f)) < 0 || (r = peek(f, &t)) < 0)
			return r;
		(*count)++;
		if (is_op(t, OP_AMP)) {
			for (size_t i = start; i < f->p->n; i++)
				f->p->cmds[i].background = true;
		} else if (!is_op(t, OP_SEMI) && t->type != T_NEWLINE) {
			return 0;
		}
		if (t->type != T_NEWLINE && (r = advance(f)) < 0)
			return r;
	}
}

/* ---- step 2: the result, unwrapped ---- */

/* push() - append @c to the result (it is emptied); false (and truncated) when full. */
static bool push(struct ctx *cx, kn_sh_cmd *c, size_t *ix)
{
	kn_sh_script *s = cx->out;

	if (s->n >= KN_SH_MAX_CMDS) {
		s->truncated = true;
		cmd_free(c);
		return false;
	}
	if (s->n == 0 || (s->n >= 8 && !(s->n & (s->n - 1)))) /* capacity: 8, then doubled at powers of two */
		s->cmds = kn_xrealloc(s->cmds, (s->n ? 2 * s->n : 8) * sizeof(s->cmds[0]));
	s->cmds[s->n] = *c;
	*ix = s->n++;
	memset(c, 0, sizeof(*c));
	return true;
}

static void copy_word(struct ctx *cx, kn_sh_word *dst, const kn_sh_word *src)
{
	*dst = *src;
	dst->text = kn_xstrdup(src->text);
	(void) charge(cx, strlen(src->text));
}

/* copy_redir() - a deep copy; a here-document body past the budget is left empty and the result truncated. */
static void copy_redir(struct ctx *cx, kn_sh_redir *dst, const kn_sh_redir *src, const char *body)
{
	*dst = *src;
	copy_word(cx, &dst->target, &src->target);
	if (!body)
		return;
	if (charge(cx, strlen(body))) {
		dst->heredoc = kn_xstrdup(body);
	} else {
		dst->heredoc = kn_xstrdup("");
		cx->out->truncated = true;
	}
}

static int expand(struct ctx *cx, size_t ix);

/* finish_raw() - @rc as a result entry (its redirections, then those of the compound commands around it). */
static int finish_raw(struct ctx *cx, struct parse *p, struct raw_cmd *rc, const char *wrappers, bool background,
		      bool dynamic_string)
{
	kn_sh_cmd c = { 0 };
	size_t n = rc->n_redirs, ix;

	for (size_t g = rc->group; g; g = p->groups[g - 1].parent)
		n += p->groups[g - 1].n;
	c.argv = rc->argv;
	c.argc = rc->argc;
	c.assign = rc->assign;
	rc->argv = NULL;
	rc->argc = 0;
	rc->assign = NULL;
	rc->n_assign = 0;
	c.redirs = n ? kn_xcalloc(n, sizeof(c.redirs[0])) : NULL;
	for (size_t i = 0; i < rc->n_redirs; i++) {
		const struct raw_redir *rr = &rc->redirs[i];

		copy_redir(cx, &c.redirs[c.n_redirs++], &rr->r, rr->hd ? p->hds[rr->hd - 1].body : NULL);
	}
	for (size_t g = rc->group; g; g = p->groups[g - 1].parent) {
		for (size_t i = 0; i < p->groups[g - 1].n; i++) {
			const struct raw_redir *rr = &p->groups[g - 1].redirs[i];

			copy_redir(cx, &c.redirs[c.n_redirs++], &rr->r, rr->hd ? p->hds[rr->hd - 1].body : NULL);
		}
	}
	c.pipeline = rc->pipeline;
	c.pipe_index = rc->pipe_index;
	c.pipe_len = rc->pipe_len;
	c.background = rc->background || background;
	c.depth = rc->depth;
	c.origin = rc->origin;
	c.wrappers = kn_xstrdup(wrappers);
	c.dynamic_string = dynamic_string;
	if (!push(cx, &c, &ix))
		return 0;
	return expand(cx, ix);
}

/* What the options of a wrapper look like (getopt with "+": options end at the first operand). */
struct wrapper {
	const char *name;
	const char *short_arg;           /* short options taking an argument */
	const char *short_opt;           /* short options whose argument is optional and attached (xargs -i{}) */
	const char *short_stop;          /* short options with which no command runs (command -v) */
	const char *const *long_arg;     /* long options taking an argument */
	const char *const *long_stop;
	unsigned operands;               /* operands before the command (timeout's duration, chroot's root) */
	unsigned flags;
};
#define W_ASSIGN 1u  /* NAME=value words may come before the command (env, sudo) */
#define W_NUMERIC 2u /* -N is an option (nice -5) */
#define W_DASH 4u    /* a lone - is an option (env -) */
#define W_MORE 8u    /* the command gets more arguments when it runs (xargs) */
#define W_SPLIT 16u  /* -S STRING / --split-string holds the command (env) */

static const char *const sudo_long[] = { "user", "group", "host", "prompt", "close-from", "role", "type",
					 "command-timeout", "other-user", "chdir", "chroot", NULL };
static const char *const sudo_stop[] = { "edit", "list", "validate", "remove-timestamp", "version", "help", NULL };
static const char *const env_long[] = { "unset", "chdir", "split-string", NULL };
static const char *const nice_long[] = { "adjustment", NULL };
static const char *const timeout_long[] = { "kill-after", "signal", NULL };
static const char *const time_long[] = { "format", "output", NULL };
static const char *const xargs_long[] = { "arg-file", "delimiter", "max-args", "max-procs", "max-chars",
					  "process-slot-var", NULL };
static const char *const stdbuf_long[] = { "input", "output", "error", NULL };
static const char *const ionice_long[] = { "class", "classdata", NULL };
static const char *const ionice_stop[] = { "pid", "pgid", "uid", NULL };
static const char *const chroot_long[] = { "userspec", "groups", NULL };
static const char *const pkexec_long[] = { "user", NULL };

static const struct wrapper wrapper_table[] = {
	{ "sudo", "CDgpRrtTUu", "", "eKlvV", sudo_long, sudo_stop, 0, W_ASSIGN },
	{ "doas", "Cu", "", "", NULL, NULL, 0, 0 },
	{ "env", "uCS", "", "", env_long, NULL, 0, W_ASSIGN | W_DASH | W_SPLIT },
	{ "nice", "n", "", "", nice_long, NULL, 0, W_NUMERIC },
	{ "nohup", "", "", "", NULL, NULL, 0, 0 },
	{ "timeout", "ks", "", "", timeout_long, NULL, 1, 0 },
	{ "time", "fo", "", "", time_long, NULL, 0, 0 },
	{ "command", "", "", "vV", NULL, NULL, 0, 0 },
	{ "exec", "a", "", "", NULL, NULL, 0, 0 },
	{ "xargs", "adEILnPs", "eil", "", xargs_long, NULL, 0, W_MORE },
	{ "stdbuf", "ioe", "", "", stdbuf_long, NULL, 0, 0 },
	{ "ionice", "cn", "", "pPu", ionice_long, ionice_stop, 0, 0 },
	{ "chroot", "", "", "", chroot_long, NULL, 1, 0 },
	{ "setsid", "", "", "", NULL, NULL, 0, 0 },
	{ "pkexec", "", "", "", pkexec_long, NULL, 0, 0 },
	{ "builtin", "", "", "", NULL, NULL, 0, 0 },
	{ "coproc", "", "", "", NULL, NULL, 0, 0 },
};

struct walk {
	size_t cmd;         /* index of the command word, 0 for none */
	size_t assign_from; /* NAME=value words: [assign_from, cmd) */
	const char *split;  /* env -S: the string */
};

/* walk_options() - find where the command of wrapper @w starts in @c. */
static void walk_options(const kn_sh_cmd *c, const struct wrapper *w, struct walk *out)
{
	unsigned operands = w->operands;
	size_t i = 1;

	memset(out, 0, sizeof(*out));
	while (i < c->argc) {
		const char *s = c->argv[i].text;
		bool dyn = c->argv[i].dynamic, skip_next = false;

		if (dyn || s[0] != '-' || !s[1]) {
			if (!dyn && (w->flags & W_DASH) && !strcmp(s, "-")) {
				i++;
				continue;
			}
			break;
		}
		if (!strcmp(s, "--")) {
			i++;
			break;
		}
		if (s[1] == '-') {
			const char *eq = strchr(s, '=');
			size_t n = eq ? (size_t) (eq - s) - 2 : strlen(s + 2);

			if (in_list(w->long_stop, s + 2, n))
				return;
			if ((w->flags & W_SPLIT) && n == 12 && !memcmp(s + 2, "split-string", 12)) {
				out->split = eq ? eq + 1 : i + 1 < c->argc ? c->argv[i + 1].text : NULL;
				out->cmd = out->split ? i + (eq ? 1 : 2) : 0;
				return;
			}
			i += !eq && in_list(w->long_arg, s + 2, n) ? 2 : 1;
			continue;
		}
		if ((w->flags & W_NUMERIC) && isdigit((unsigned char) s[1])) {
			i++;
			continue;
		}
		for (size_t j = 1; s[j]; j++) {
			if (strchr(w->short_stop, s[j]))
				return;
			if (strchr(w->short_opt, s[j]))
				break;
			if (strchr(w->short_arg, s[j])) {
				if ((w->flags & W_SPLIT) && s[j] == 'S') {
					out->split = s[j + 1] ? s + j + 1 : i + 1 < c->argc ? c->argv[i + 1].text : NULL;
					out->cmd = out->split ? i + (s[j + 1] ? 1 : 2) : 0;
					return;
				}
				skip_next = !s[j + 1];
				break;
			}
		}
		i += skip_next ? 2 : 1;
	}
	for (; i < c->argc && operands; operands--)
		i++;
	out->assign_from = i;
	while ((w->flags & W_ASSIGN) && i < c->argc && c->argv[i].text[0] != '='
	       && strchr(c->argv[i].text, '='))
		i++;
	out->cmd = i < c->argc ? i : 0;
}

/* join() - words [from, to) of @c separated by spaces, after @prefix when not NULL */
static char *join(struct ctx *cx, const char *prefix, const kn_sh_cmd *c, size_t from, size_t to)
{
	struct buf b = { 0 };

	if (prefix)
		buf_put(&b, prefix, strlen(prefix));
	for (size_t i = from; i < to; i++) {
		if (b.len)
			buf_putc(&b, ' ');
		buf_put(&b, c->argv[i].text, strlen(c->argv[i].text));
	}
	(void) charge(cx, b.len);
	return buf_take(&b);
}

static char *add_wrapper(const char *wrappers, const char *name)
{
	return wrappers ? kn_xasprintf("%s %s", wrappers, name) : kn_xstrdup(name);
}

/*
 * run_string() - @text runs as a shell script on behalf of command @ix (@what
 * says how): parse it one level deeper.  @dynamic: the text holds expansions.
 */
static int run_string(struct ctx *cx, size_t ix, const char *text, kn_sh_origin origin, const char *wrappers,
		      const char *what, bool dynamic)
{
	const kn_sh_cmd *c = &cx->out->cmds[ix];
	int r;

	r = parse_text(cx, text, c->depth + 1, origin, wrappers, c->background, dynamic || c->dynamic_string);
	if (r < 0)
		kn_error_wrap(cx->err, "in the string run by %s", what);
	return r;
}

/* any_dynamic() - some word of @c in [from, to) holds an expansion */
static bool any_dynamic(const kn_sh_cmd *c, size_t from, size_t to)
{
	for (size_t i = from; i < to && i < c->argc; i++)
		if (c->argv[i].dynamic)
			return true;
	return false;
}

/* xargs_replace() - the string xargs -I/-i/--replace substitutes in the command's words, or NULL */
static const char *xargs_replace(const kn_sh_cmd *c, size_t cmd)
{
	const char *r = NULL;

	for (size_t i = 1; i < cmd; i++) {
		const char *s = c->argv[i].text;

		if (!strcmp(s, "-I") || !strcmp(s, "--replace"))
			r = !strcmp(s, "-I") && i + 1 < cmd ? c->argv[++i].text : "{}";
		else if (!strncmp(s, "--replace=", 10))
			r = s + 10;
		else if (s[0] == '-' && s[1] != '-' && strpbrk(s, "Ii"))
			r = strpbrk(s, "Ii")[1] ? strpbrk(s, "Ii") + 1 : strpbrk(s, "Ii")[0] == 'I' && i + 1 < cmd
				? c->argv[++i].text : "{}";
	}
	return r && *r ? r : NULL;
}

/* unwrap() - the command wrapper @w of command @ix runs, as an entry one level deeper. */
static int unwrap(struct ctx *cx, size_t ix, const struct wrapper *w)
{
	const kn_sh_cmd *c = &cx->out->cmds[ix];
	kn_sh_cmd n = { 0 };
	struct walk wk;
	size_t n_assign, nix;
	const char *repl;
	char *wrappers;
	int r;

	walk_options(c, w, &wk);
	if (!wk.cmd && !wk.split)
		return 0;
	wrappers = add_wrapper(c->wrappers, w->name);
	if (wk.split) {
		/* env -S 'rm -rf /' x: the string is split into words, then the rest follows */
		char *text = join(cx, wk.split, c, wk.cmd < c->argc ? wk.cmd : c->argc, c->argc);

		r = run_string(cx, ix, text, KN_SH_WRAPPER, wrappers, "env -S", any_dynamic(c, 1, c->argc));
		free(text);
		free(wrappers);
		return r;
	}
	n.argc = c->argc - wk.cmd;
	n.argv = kn_xcalloc(n.argc, sizeof(n.argv[0]));
	repl = w->flags & W_MORE ? xargs_replace(c, wk.cmd) : NULL;
	for (size_t i = 0; i < n.argc; i++) {
		copy_word(cx, &n.argv[i], &c->argv[wk.cmd + i]);
		/* xargs -I{}: the input replaces it when the command runs */
		if (repl && strstr(n.argv[i].text, repl))
			n.argv[i].dynamic = true;
	}
	n_assign = kn_strv_len(c->assign) + (wk.cmd - wk.assign_from);
	if (n_assign) {
		size_t k = 0;

		n.assign = kn_xcalloc(n_assign + 1, sizeof(char *));
		for (; c->assign && c->assign[k]; k++)
			n.assign[k] = kn_xstrdup(c->assign[k]);
		for (size_t i = wk.assign_from; i < wk.cmd; i++)
			n.assign[k++] = kn_xstrdup(c->argv[i].text);
	}
	/* fds are inherited: a here-document on `sudo psql <<EOF` is psql's stdin */
	n.redirs = c->n_redirs ? kn_xcalloc(c->n_redirs, sizeof(n.redirs[0])) : NULL;
	for (n.n_redirs = 0; n.n_redirs < c->n_redirs; n.n_redirs++)
		copy_redir(cx, &n.redirs[n.n_redirs], &c->redirs[n.n_redirs], c->redirs[n.n_redirs].heredoc);
	n.pipeline = c->pipeline;
	n.pipe_index = c->pipe_index;
	n.pipe_len = c->pipe_len;
	n.background = c->background;
	n.depth = c->depth + 1;
	n.origin = KN_SH_WRAPPER;
	n.wrappers = wrappers;
	n.more_args = c->more_args || (w->flags & W_MORE);
	n.dynamic_string = c->dynamic_string;
	if (!push(cx, &n, &nix))
		return 0;
	return expand(cx, nix);
}

/* The operand that is the -c string, or the script, of a shell (bash -lc S, sh -e -c S, bash -o pipefail -c S). */
static size_t shell_operand(const kn_sh_cmd *c, bool *has_c, bool *has_s)
{
	size_t i = 1;

	*has_c = *has_s = false;
	while (i < c->argc && !c->argv[i].dynamic) {
		const char *s = c->argv[i].text;
		bool arg = false;

		if (!strcmp(s, "--") || !strcmp(s, "-")) {
			i++;
			break;
		}
		if (s[0] == '-' && s[1] == '-') {
			i += !strcmp(s, "--rcfile") || !strcmp(s, "--init-file") ? 2 : 1;
			continue;
		}
		if ((s[0] != '-' && s[0] != '+') || !s[1])
			break;
		for (size_t j = 1; s[j]; j++) {
			if (s[0] == '-' && s[j] == 'c')
				*has_c = true;
			else if (s[0] == '-' && s[j] == 's')
				*has_s = true;
			else if (s[j] == 'o' || s[j] == 'O')
				arg = true;
		}
		i += arg ? 2 : 1;
	}
	return i < c->argc ? i : 0;
}

/*
 * A shell reading its commands from stdin: a here-document or here-string on
 * fd 0 gives them (*dynamic: they hold expansions, done before the shell reads).
 */
static const char *shell_stdin(const kn_sh_cmd *c, bool *dynamic)
{
	const kn_sh_redir *in = NULL;

	for (size_t i = 0; i < c->n_redirs; i++)
		if ((c->redirs[i].fd == -1 || c->redirs[i].fd == 0) && c->redirs[i].op[0] == '<')
			in = &c->redirs[i];
	if (!in)
		return NULL;
	if (!strcmp(in->op, "<<<")) {
		*dynamic = in->target.dynamic;
		return in->target.text;
	}
	*dynamic = in->heredoc && !in->target.quoted && strpbrk(in->heredoc, "$`");
	return in->heredoc;
}

static bool is_shell(const char *name)
{
	static const char *const shells[] = { "sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", NULL };

	return in_list(shells, name, strlen(name));
}

/* find ... -exec CMD ... ; (or {} +), -execdir, -ok, -okdir: CMD runs, one level deeper */
static int find_exec(struct ctx *cx, size_t ix)
{
	static const char *const actions[] = { "-exec", "-execdir", "-ok", "-okdir", NULL };
	int r;

	for (size_t i = 1; i < cx->out->cmds[ix].argc; i++) {
		const kn_sh_cmd *c = &cx->out->cmds[ix];
		kn_sh_cmd n = { 0 };
		size_t b = i + 1, e = b, nix;

		if (c->argv[i].dynamic || !in_list(actions, c->argv[i].text, strlen(c->argv[i].text)))
			continue;
		while (e < c->argc && strcmp(c->argv[e].text, ";")
		       && !(e > b && !strcmp(c->argv[e].text, "+") && !strcmp(c->argv[e - 1].text, "{}")))
			e++;
		i = e;
		if (e == b)
			continue;
		if (c->depth >= KN_SH_MAX_DEPTH) {
			cx->out->truncated = true;
			return 0;
		}
		n.argc = e - b;
		n.argv = kn_xcalloc(n.argc, sizeof(n.argv[0]));
		for (size_t k = 0; k < n.argc; k++) {
			copy_word(cx, &n.argv[k], &c->argv[b + k]);
			/* find puts the file name where {} is */
			if (strstr(n.argv[k].text, "{}"))
				n.argv[k].dynamic = true;
		}
		n.pipeline = c->pipeline;
		n.dynamic_string = c->dynamic_string;
		n.pipe_index = c->pipe_index;
		n.pipe_len = c->pipe_len;
		n.background = c->background;
		n.depth = c->depth + 1;
		n.origin = KN_SH_FIND_EXEC;
		n.wrappers = kn_xstrdup(c->wrappers);
		if (!push(cx, &n, &nix))
			return 0;
		if ((r = expand(cx, nix)) < 0)
			return r;
	}
	return 0;
}

/* su [opts] -c STRING / --command=STRING (and runuser): the string runs in the user's shell */
static const char *su_string(const kn_sh_cmd *c, bool *dynamic)
{
	for (size_t i = 1; i < c->argc; i++) {
		const char *s = c->argv[i].text;
		const kn_sh_word *next = i + 1 < c->argc ? &c->argv[i + 1] : NULL;

		if (s[0] != '-')
			continue;
		if (!strncmp(s, "--command=", 10) || !strncmp(s, "--session-command=", 18)) {
			*dynamic = c->argv[i].dynamic;
			return strchr(s, '=') + 1;
		}
		if (!strcmp(s, "--command") || !strcmp(s, "--session-command")) {
			*dynamic = next && next->dynamic;
			return next ? next->text : NULL;
		}
		if (s[1] == '-')
			continue;
		for (size_t j = 1; s[j]; j++) {
			if (s[j] == 'c') {
				*dynamic = s[j + 1] ? c->argv[i].dynamic : next && next->dynamic;
				return s[j + 1] ? s + j + 1 : next ? next->text : NULL;
			}
			if (strchr("gGsw", s[j])) {
				i += !s[j + 1];
				break;
			}
		}
	}
	return NULL;
}

/* expand() - what command @ix runs besides itself: wrapped commands, strings, -exec commands. */
static int expand(struct ctx *cx, size_t ix)
{
	const kn_sh_cmd *c = &cx->out->cmds[ix];
	const char *name, *text, *how;
	char what[48];
	bool has_c, has_s, dynamic = false;
	size_t op;

	if (!c->argc || c->argv[0].dynamic)
		return 0;
	name = kn_sh_basename(c->argv[0].text);
	if (!strcmp(name, "find"))
		return find_exec(cx, ix);
	for (size_t i = 0; i < sizeof(wrapper_table) / sizeof(wrapper_table[0]); i++) {
		if (strcmp(name, wrapper_table[i].name))
			continue;
		if (c->depth >= KN_SH_MAX_DEPTH) {
			cx->out->truncated = true;
			return 0;
		}
		return unwrap(cx, ix, &wrapper_table[i]);
	}
	if (!strcmp(name, "eval")) {
		size_t from = c->argc > 1 && !strcmp(c->argv[1].text, "--") ? 2 : 1;
		char *s;
		int r;

		if (from >= c->argc)
			return 0;
		if (c->depth >= KN_SH_MAX_DEPTH) {
			cx->out->truncated = true;
			return 0;
		}
		/* eval joins its arguments with spaces, like the shell */
		s = join(cx, NULL, c, from, c->argc);
		r = run_string(cx, ix, s, KN_SH_EVAL, c->wrappers, "eval", any_dynamic(c, from, c->argc));
		free(s);
		return r;
	}
	if (is_shell(name)) {
		op = shell_operand(c, &has_c, &has_s);
		if (has_c) {
			text = op ? c->argv[op].text : NULL;
			dynamic = op && c->argv[op].dynamic;
		} else {
			text = !op || has_s ? shell_stdin(c, &dynamic) : NULL;
		}
		how = has_c ? "-c" : "reading stdin";
	} else if (!strcmp(name, "su") || !strcmp(name, "runuser")) {
		text = su_string(c, &dynamic);
		how = "-c";
	} else {
		return 0;
	}
	if (!text)
		return 0;
	if (c->depth >= KN_SH_MAX_DEPTH) {
		cx->out->truncated = true;
		return 0;
	}
	snprintf(what, sizeof(what), "%.32s %s", name, how);
	return run_string(cx, ix, text, KN_SH_STRING, c->wrappers, what, dynamic);
}

/*
 * parse_text() - step 1 then step 2 over @text, its commands at @depth
 * (the top ones with @origin), reached through @wrappers, all marked
 * dynamic_string when @dynamic_string.
 */
static int parse_text(struct ctx *cx, const char *text, unsigned depth, kn_sh_origin origin,
		      const char *wrappers, bool background, bool dynamic_string)
{
	struct parse p = { .cx = cx };
	struct src src = { text, strlen(text), 0 };
	struct frame f;
	struct token *t;
	size_t count;
	char desc[48];
	int r;

	if (!charge(cx, src.len)) {
		cx->out->truncated = true;
		return 0;
	}
	frame_init(&f, &p, &src, 0, depth, origin);
	r = parse_list(&f, &count);
	if (r == 0 && (r = peek(&f, &t)) == 0) {
		if (t->type != T_EOF)
			r = unexpected(&f, t);
		else if (f.n_pending)
			r = syntax(&f, p.hds[f.pending[0]].off, "here-document <<%s has no body",
				   quote_text(p.hds[f.pending[0]].delim, desc, sizeof(desc)));
	}
	frame_free(&f);
	for (size_t i = 0; r == 0 && i < p.n; i++)
		r = finish_raw(cx, &p, &p.cmds[i], wrappers, background, dynamic_string);
	parse_free(&p);
	return r;
}

int kn_sh_parse(const char *text, kn_sh_script *out, kn_error *err)
{
	struct ctx cx = { .out = out, .err = err };
	size_t len;
	int r;

	memset(out, 0, sizeof(*out));
	if (!text)
		return kn_error_setx(err, EINVAL, "no command");
	len = strnlen(text, KN_SH_MAX_INPUT + 1);
	if (len > KN_SH_MAX_INPUT)
		return kn_error_setx(err, E2BIG, "command longer than %d bytes", KN_SH_MAX_INPUT);
	/* strings parsed again, copies: a multiple of the input, with room for small inputs */
	cx.budget = 65536 + 32 * len;
	r = parse_text(&cx, text, 0, KN_SH_TOP, NULL, false, false);
	if (r < 0)
		kn_sh_script_free(out);
	return r;
}

void kn_sh_script_free(kn_sh_script *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		cmd_free(&s->cmds[i]);
	free(s->cmds);
	memset(s, 0, sizeof(*s));
}

const char *kn_sh_basename(const char *argv0)
{
	const char *slash = strrchr(argv0, '/');

	return slash ? slash + 1 : argv0;
}
