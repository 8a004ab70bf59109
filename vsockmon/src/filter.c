/* SPDX-License-Identifier: GPL-2.0-or-later */
/* filter.c: the vsock filter language: tokenizer, parser, link[...] text emitter, libpcap compile. */
#include <byteswap.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pcap/pcap.h>

#include <vsockmon/fields.h>
#include <vsockmon/filter.h>
#include <vsockmon/strbuf.h>
#include <vsockmon/wire.h>

/*
 * libpcap knows no protocol keywords for DLT_VSOCK (gencode.c: "only raw link[N:M] filtering"),
 * so every primitive becomes link[...] comparisons. Frame fields are little-endian and BPF loads
 * are big-endian, hence the byte-swapped constants.
 */

#define MAX_DEPTH 100	/* nested "(" and "not": bounds the parser's and the emitter's recursion */

enum tok_kind { T_END, T_WORD, T_LPAREN, T_RPAREN, T_AND, T_OR, T_NOT, T_CMP, T_BAD };
enum cmp { C_GT, C_LT, C_GE, C_LE, C_EQ, C_NE };

static const char *const cmp_text[] = {	/* as libpcap spells them */
	[C_GT] = ">", [C_LT] = "<", [C_GE] = ">=", [C_LE] = "<=", [C_EQ] = "=", [C_NE] = "!=",
};

struct token {
	enum tok_kind kind;
	enum cmp cmp;		/* T_CMP only */
	size_t pos, len;	/* bytes of the expression */
};

enum node_kind { N_AND, N_OR, N_NOT, N_CID, N_PORT, N_OP, N_TYPE, N_LEN };
enum dir { D_ANY, D_SRC, D_DST };

/* AND/OR have a list of children (child, then next...); NOT has one child. */
struct node {
	enum node_kind kind;
	int child, next;	/* node indices, -1: none */
	enum dir dir;		/* N_CID, N_PORT */
	enum cmp cmp;		/* N_LEN */
	uint64_t value;		/* cid, port, op, type or len */
};

struct parser {
	const char *expr;
	const struct token *tok;
	size_t i;		/* next token */
	struct node *nodes;	/* room for one per token, plus one (see translate) */
	size_t nnodes;
	unsigned depth;
	unsigned nterms;	/* primitives so far, bounded by VSM_FILTER_MAX_TERMS */
	struct vsm_filter_error *err;
};

struct vsm_filter {
	char *text;			/* libpcap filter text, "" for match-all */
	struct bpf_program prog;
};

/* Tokens end at blanks and at these characters, so "len>5" is three tokens. */
static const char punct[] = "()&|!<>=";

static enum tok_kind word_kind(const char *s, size_t len)
{
	if (len == 3 && strncasecmp(s, "and", 3) == 0)
		return T_AND;
	if (len == 2 && strncasecmp(s, "or", 2) == 0)
		return T_OR;
	if (len == 3 && strncasecmp(s, "not", 3) == 0)
		return T_NOT;
	return T_WORD;
}

/* Fills tok[] (room for strlen(s) + 1 entries: every token but T_END takes a byte). */
static void tokenize(const char *s, struct token *tok)
{
	size_t i = 0;

	for (;; tok++) {
		while (isspace((unsigned char)s[i]))
			i++;
		*tok = (struct token){ .kind = T_BAD, .pos = i, .len = 1 };
		switch (s[i]) {
		case '\0':
			tok->kind = T_END;
			tok->len = 0;
			return;
		case '(':
			tok->kind = T_LPAREN;
			break;
		case ')':
			tok->kind = T_RPAREN;
			break;
		case '&':
		case '|':
			/* A lone '&' or '|' stays T_BAD: C's bitwise operators mean nothing here. */
			if (s[i + 1] == s[i]) {
				tok->kind = s[i] == '&' ? T_AND : T_OR;
				tok->len = 2;
			}
			break;
		case '!':
			if (s[i + 1] == '=') {
				tok->kind = T_CMP;
				tok->cmp = C_NE;
				tok->len = 2;
			} else {
				tok->kind = T_NOT;
			}
			break;
		case '<':
		case '>':
		case '=':
			tok->kind = T_CMP;
			if (s[i + 1] == '=') {
				tok->len = 2;
				tok->cmp = s[i] == '<' ? C_LE : s[i] == '>' ? C_GE : C_EQ;
			} else {
				tok->cmp = s[i] == '<' ? C_LT : s[i] == '>' ? C_GT : C_EQ;
			}
			break;
		default:
			while (s[i + tok->len] && !isspace((unsigned char)s[i + tok->len]) &&
			       !strchr(punct, s[i + tok->len]))
				tok->len++;
			tok->kind = word_kind(s + i, tok->len);
			break;
		}
		i += tok->len;
	}
}

/* Decimal or 0x-hex. Returns 0, -EINVAL (not a number) or -ERANGE (more than 64 bits). */
static int parse_number(const char *s, size_t len, uint64_t *ret)
{
	unsigned base = 10;
	bool over = false;
	uint64_t v = 0;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		len -= 2;
	}
	if (len == 0)
		return -EINVAL;
	/* Scans to the end even after an overflow: "99999999999999999999x" is no number at all. */
	for (size_t i = 0; i < len; i++) {
		unsigned d;

		if (isdigit((unsigned char)s[i]))
			d = (unsigned)(s[i] - '0');
		else if (base == 16 && isxdigit((unsigned char)s[i]))
			d = (unsigned)(tolower((unsigned char)s[i]) - 'a' + 10);
		else
			return -EINVAL;
		if (over || v > (UINT64_MAX - d) / base)
			over = true;
		else
			v = v * base + d;
	}
	if (over)
		return -ERANGE;
	*ret = v;
	return 0;
}

/* "'word'" (shortened if long) or "end of expression", for messages. */
static const char *describe(const struct parser *p, const struct token *t, char *buf, size_t len)
{
	if (t->kind == T_END)
		return "end of expression";
	if (t->len > 40)
		snprintf(buf, len, "'%.40s...'", p->expr + t->pos);
	else
		snprintf(buf, len, "'%.*s'", (int)t->len, p->expr + t->pos);
	return buf;
}

/* Records an error at token t. Always returns -1, so callers can "return fail(...)". */
__attribute__((format(printf, 3, 4)))
static int fail(struct parser *p, const struct token *t, const char *fmt, ...)
{
	va_list ap;

	p->err->pos = t->pos;
	p->err->len = t->len;
	va_start(ap, fmt);
	vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static const struct token *peek(const struct parser *p)
{
	return &p->tok[p->i];
}

/* The current token, then moves on (never past T_END). */
static const struct token *next(struct parser *p)
{
	const struct token *t = &p->tok[p->i];

	if (t->kind != T_END)
		p->i++;
	return t;
}

static bool is_word(const struct parser *p, const struct token *t, const char *w)
{
	return t->kind == T_WORD && t->len == strlen(w) && strncasecmp(p->expr + t->pos, w, t->len) == 0;
}

static int new_node(struct parser *p, enum node_kind kind, int child)
{
	p->nodes[p->nnodes] = (struct node){ .kind = kind, .child = child, .next = -1 };
	return (int)p->nnodes++;
}

/* "request, response, ..." in lower case, from the shared name tables. */
static void name_list(const char *(*name)(uint32_t), uint32_t first, uint32_t last, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (uint32_t v = first; v <= last && n < len; v++)
		if (name(v))
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "", name(v));
	for (char *c = buf; *c; c++)
		*c = (char)tolower((unsigned char)*c);
}

/* Value of an op or type name, through the shared fields.c lookups. */
static int parse_name(struct parser *p, const struct token *kw, enum node_kind kind, int node)
{
	int (*lookup)(const char *, uint32_t *) = kind == N_OP ? vsm_op_from_name : vsm_type_from_name;
	const struct token *t = next(p);
	const char *what = kind == N_OP ? "op" : "type", *a = kind == N_OP ? "an" : "a";
	char names[160], word[32], d[64];
	uint32_t v;

	if (kind == N_OP)
		name_list(vsm_op_name, VSM_OP_REQUEST, VSM_OP_MAX, names, sizeof(names));
	else
		name_list(vsm_type_name, VSM_TYPE_STREAM, VSM_TYPE_SEQPACKET, names, sizeof(names));
	if (t->kind != T_WORD)
		return fail(p, t, "expected %s %s name after '%.*s' (%s), got %s", a, what,
			    (int)kw->len, p->expr + kw->pos, names, describe(p, t, d, sizeof(d)));
	snprintf(word, sizeof(word), "%.*s", (int)t->len, p->expr + t->pos);
	if (t->len >= sizeof(word) || lookup(word, &v) < 0)
		return fail(p, t, "unknown %s %s (expected %s)", what, describe(p, t, d, sizeof(d)), names);
	p->nodes[node].value = v;
	return node;
}

/* A number in 0..max after the token kw (kw names the field in messages). */
static int parse_value(struct parser *p, const struct token *kw, const char *field, uint64_t max, int node)
{
	const struct token *t = next(p);
	char d[64];
	uint64_t v;
	int r = t->kind == T_WORD ? parse_number(p->expr + t->pos, t->len, &v) : -EINVAL;

	if (r == -EINVAL)
		return fail(p, t, "expected a number after '%.*s', got %s",
			    (int)kw->len, p->expr + kw->pos, describe(p, t, d, sizeof(d)));
	if (r == -ERANGE || v > max)
		return fail(p, t, "%s %.*s%s is out of range (0..%llu)", field, t->len > 40 ? 40 : (int)t->len,
			    p->expr + t->pos, t->len > 40 ? "..." : "", (unsigned long long)max);
	p->nodes[node].value = v;
	return node;
}

/*
 * The pcap-filter(7) words a tcpdump user types first, and what the vsock filter says instead, for the
 * "did you mean" of an unknown word. instead takes the word's place, before its value; a word with
 * none is left out and the words after it are the filter, or alone is offered when none follow.
 */
static const struct pcap_word {
	const char *word, *instead, *alone, *why;
} pcap_words[] = {
	{ "host", "cid", NULL, "a vsock address is a CID" },
	{ "net", "cid", NULL, "vsock has no networks: a CID is one machine" },
	{ "less", "len <=", NULL, "len is the payload's length" },
	{ "greater", "len >=", NULL, "len is the payload's length" },
	{ "tcp", NULL, "type stream", "vsock has no TCP: its connections are stream or seqpacket sockets" },
	{ "udp", NULL, NULL, "vsock has no UDP" },
	{ "ip", NULL, NULL, "vsock has no IP layer" },
	{ "ip6", NULL, NULL, "vsock has no IP layer" },
	{ "ether", NULL, NULL, "vsock has no Ethernet layer" },
	{ "vsock", NULL, NULL, "every packet here is vsock" },
};

static const struct pcap_word *pcap_word(const struct parser *p, const struct token *t)
{
	for (size_t i = 0; i < sizeof(pcap_words) / sizeof(pcap_words[0]); i++)
		if (is_word(p, t, pcap_words[i].word))
			return &pcap_words[i];
	return NULL;
}

/* Appends the token's text, after a space unless at the start. */
static size_t put_token(const struct parser *p, const struct token *t, char *buf, size_t len, size_t n)
{
	if (n < len)
		n += (size_t)snprintf(buf + n, len - n, "%s%.*s", n ? " " : "", (int)t->len, p->expr + t->pos);
	return n;
}

/*
 * The vsock primitive for the pcap-filter one at token i: "cid 3" for "host 3", "src cid 3" for
 * "src host 3", "port 80" for "tcp port 80". Returns the table entry of its first tcpdump word with
 * the suggestion in buf ("" when there is none to offer: the word is to be left out), or NULL.
 */
static const struct pcap_word *vsock_words_for(const struct parser *p, size_t i, char *buf, size_t len)
{
	const struct pcap_word *first = NULL, *w;
	const struct token *t;
	size_t n = 0;

	buf[0] = '\0';
	for (;; i++) {
		t = &p->tok[i];
		if (is_word(p, t, "src") || is_word(p, t, "dst")) {
			n = put_token(p, t, buf, len, n);
			continue;
		}
		w = pcap_word(p, t);
		if (!w)
			break;
		if (!first)
			first = w;
		if (w->instead) {
			if (n < len)
				n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? " " : "", w->instead);
			t = &p->tok[i + 1];
			if (t->kind == T_WORD && !pcap_word(p, t))
				put_token(p, t, buf, len, n);
			else if (n < len)
				snprintf(buf + n, len - n, " N");
			return first;
		}
		if (p->tok[i + 1].kind != T_WORD) {
			/* Nothing follows the word to leave out: what it meant alone, if vsock has it. */
			snprintf(buf, len, "%s", n == 0 && w->alone ? w->alone : "");
			return first;
		}
	}
	if (!first || t->kind != T_WORD)
		return first;
	/* A vsock word after the ones left out: it and its value ("port 80", "len > 5"). */
	n = put_token(p, t, buf, len, n);
	t++;
	if (t->kind == T_CMP)
		n = put_token(p, t++, buf, len, n);
	if (t->kind == T_WORD)
		put_token(p, t, buf, len, n);
	return first;
}

/* After an error at the tcpdump word at token i: "; did you mean `cid 3`? a vsock address is a CID". */
static void suggest_vsock_words(struct parser *p, size_t i)
{
	const struct pcap_word *w;
	char words[64];
	size_t n = strlen(p->err->msg);

	w = vsock_words_for(p, i, words, sizeof(words));
	if (!w || n >= sizeof(p->err->msg))
		return;
	if (words[0])
		snprintf(p->err->msg + n, sizeof(p->err->msg) - n, "; did you mean `%s`? %s", words, w->why);
	else
		snprintf(p->err->msg + n, sizeof(p->err->msg) - n, "; leave '%s' out: %s", w->word, w->why);
}

static int parse_primitive(struct parser *p)
{
	const struct token *kw = next(p), *t;
	enum dir dir = D_ANY;
	char d[64];

	/*
	 * libpcap's optimizer (optimize.c) is worse than quadratic in the size of the program: 1,000
	 * "cid N" terms take 5 s, 10,000 take 45 s and 319 MB. Every tool compiles its filter here.
	 */
	if (++p->nterms > VSM_FILTER_MAX_TERMS)
		return fail(p, kw, "too many terms: a filter may have at most %d (cid, port, op, type or len); "
			    "filter on fewer (a CID rather than each of its ports) and narrow the rest down "
			    "afterwards (vsockdump -r FILE with another filter, or --json and jq)",
			    VSM_FILTER_MAX_TERMS);
	if (is_word(p, kw, "src") || is_word(p, kw, "dst")) {
		dir = is_word(p, kw, "src") ? D_SRC : D_DST;
		t = peek(p);
		if (!is_word(p, t, "cid") && !is_word(p, t, "port")) {
			fail(p, t, "expected 'cid' or 'port' after '%.*s', got %s",
			     (int)kw->len, p->expr + kw->pos, describe(p, t, d, sizeof(d)));
			suggest_vsock_words(p, p->i - 1);
			return -1;
		}
		kw = next(p);
	}
	if (is_word(p, kw, "cid")) {
		int n = new_node(p, N_CID, -1);

		p->nodes[n].dir = dir;
		return parse_value(p, kw, "cid", UINT64_MAX, n);
	}
	if (is_word(p, kw, "port")) {
		int n = new_node(p, N_PORT, -1);

		p->nodes[n].dir = dir;
		return parse_value(p, kw, "port", UINT32_MAX, n);
	}
	if (is_word(p, kw, "op"))
		return parse_name(p, kw, N_OP, new_node(p, N_OP, -1));
	if (is_word(p, kw, "type"))
		return parse_name(p, kw, N_TYPE, new_node(p, N_TYPE, -1));
	if (is_word(p, kw, "len")) {
		int n = new_node(p, N_LEN, -1);

		t = next(p);
		if (t->kind != T_CMP)
			return fail(p, t, "expected a comparison (>, <, >=, <=, =, ==, !=) after 'len', got %s",
				    describe(p, t, d, sizeof(d)));
		p->nodes[n].cmp = t->cmp;
		return parse_value(p, t, "len", UINT32_MAX, n);
	}
	if (kw->kind == T_WORD) {
		fail(p, kw, "unknown word %s (expected cid, port, op, type, len, src, dst, not or '(')",
		     describe(p, kw, d, sizeof(d)));
		suggest_vsock_words(p, p->i - 1);
		return -1;
	}
	if (kw->kind == T_BAD)
		return fail(p, kw, "unexpected %s (use 'and'/'&&' or 'or'/'||')", describe(p, kw, d, sizeof(d)));
	return fail(p, kw, "unexpected %s (expected cid, port, op, type, len, src, dst, not or '(')",
		    describe(p, kw, d, sizeof(d)));
}

static int parse_or(struct parser *p);

static int parse_unary(struct parser *p)
{
	const struct token *t = peek(p);
	char d[64];
	int n;

	if (t->kind == T_END) {
		/* Only reached after an operator or '(': an empty expression never gets here. */
		const struct token *prev = t - 1;

		if (prev->kind == T_LPAREN)
			return fail(p, prev, "unbalanced parenthesis: '(' is never closed");
		return fail(p, prev, "unexpected %s at end of expression", describe(p, prev, d, sizeof(d)));
	}
	if (t->kind != T_NOT && t->kind != T_LPAREN)
		return parse_primitive(p);
	if (++p->depth > MAX_DEPTH)
		return fail(p, t, "expression nested too deeply (more than %d levels)", MAX_DEPTH);
	next(p);
	if (t->kind == T_NOT) {
		n = parse_unary(p);
		n = n < 0 ? -1 : new_node(p, N_NOT, n);
	} else {
		n = parse_or(p);
		/* parse_or stops only at ')' or at the end. */
		if (n >= 0 && next(p)->kind != T_RPAREN)
			return fail(p, t, "unbalanced parenthesis: '(' is never closed");
	}
	p->depth--;
	return n;
}

/* Appends child to the AND/OR list *group, creating the group on the second operand. */
static void add_operand(struct parser *p, enum node_kind kind, int *group, int *last, int child)
{
	if (*group < 0)
		*group = new_node(p, kind, *last);
	p->nodes[*last].next = child;
	*last = child;
}

static int parse_and(struct parser *p)
{
	int group = -1, last = parse_unary(p);
	int first = last;

	if (last < 0)
		return -1;
	/* Juxtaposition is "and", as in tcpdump, so anything but or, ')' and the end continues. */
	for (enum tok_kind k = peek(p)->kind; k != T_END && k != T_OR && k != T_RPAREN; k = peek(p)->kind) {
		int n;

		if (k == T_AND)
			next(p);
		n = parse_unary(p);
		if (n < 0)
			return -1;
		add_operand(p, N_AND, &group, &last, n);
	}
	return group < 0 ? first : group;
}

static int parse_or(struct parser *p)
{
	int group = -1, last = parse_and(p);
	int first = last;

	if (last < 0)
		return -1;
	while (peek(p)->kind == T_OR) {
		int n;

		next(p);
		n = parse_and(p);
		if (n < 0)
			return -1;
		add_operand(p, N_OR, &group, &last, n);
	}
	return group < 0 ? first : group;
}

/* A 32-bit little-endian field equal to v, as a big-endian BPF load sees it. */
static void emit_eq32(struct vsm_strbuf *sb, unsigned off, uint32_t v)
{
	if (v)
		vsm_sb_printf(sb, "link[%u:4] = 0x%08x", off, bswap_32(v));
	else
		vsm_sb_printf(sb, "link[%u:4] = 0", off);
}

static void emit_addr(struct vsm_strbuf *sb, const struct node *n, enum dir dir)
{
	if (dir == D_ANY) {
		vsm_sb_putc(sb, '(');
		emit_addr(sb, n, D_SRC);
		vsm_sb_puts(sb, " or ");
		emit_addr(sb, n, D_DST);
		vsm_sb_putc(sb, ')');
	} else if (n->kind == N_PORT) {
		emit_eq32(sb, dir == D_SRC ? VSM_OFF_MON_SRC_PORT : VSM_OFF_MON_DST_PORT, (uint32_t)n->value);
	} else {
		unsigned off = dir == D_SRC ? VSM_OFF_MON_SRC_CID : VSM_OFF_MON_DST_CID;

		/* BPF loads at most 4 bytes: low half first (it is at the lower offset), then high. */
		vsm_sb_putc(sb, '(');
		emit_eq32(sb, off, (uint32_t)n->value);
		vsm_sb_puts(sb, " and ");
		emit_eq32(sb, off + 4, (uint32_t)(n->value >> 32));
		vsm_sb_putc(sb, ')');
	}
}

/*
 * op, type and len read the virtio header, so the frame must carry one, exactly when the
 * decoder sets has_virtio: transport VIRTIO, a transport header of at least 44 bytes, and all
 * 76 header bytes captured. The load of byte 75 is there for that last test: a BPF load past
 * the captured bytes rejects the frame, so a frame cut inside the header never matches.
 */
static void emit_virtio(struct vsm_strbuf *sb, const struct node *n)
{
	vsm_sb_printf(sb, "(link[%d:2] = 0x%04x and (link[%d] + (link[%d] << 8)) >= %d and link[%d] >= 0 and ",
		      VSM_OFF_MON_TRANSPORT, bswap_16(VSM_MON_TRANSPORT_VIRTIO),
		      VSM_OFF_MON_LEN, VSM_OFF_MON_LEN + 1, VSM_VIRTIO_HDR_LEN, VSM_FRAME_HDR_LEN - 1);
	if (n->kind == N_OP) {
		vsm_sb_printf(sb, "link[%d:2] = 0x%04x", VSM_OFF_V_OP, bswap_16((uint16_t)n->value));
	} else if (n->kind == N_TYPE) {
		vsm_sb_printf(sb, "link[%d:2] = 0x%04x", VSM_OFF_V_TYPE, bswap_16((uint16_t)n->value));
	} else {
		/* The u32 is assembled by hand: BPF arithmetic and comparisons are unsigned 32-bit. */
		vsm_sb_printf(sb, "(link[%d] + (link[%d] << 8) + (link[%d] << 16) + (link[%d] << 24)) %s %llu",
			      VSM_OFF_V_LEN, VSM_OFF_V_LEN + 1, VSM_OFF_V_LEN + 2, VSM_OFF_V_LEN + 3,
			      cmp_text[n->cmp], (unsigned long long)n->value);
	}
	vsm_sb_putc(sb, ')');
}

/*
 * In libpcap "and" and "or" have the same precedence and group left to right, so every
 * and/or group under another operator is parenthesized. wrap says the caller needs an atom.
 */
static void emit(const struct parser *p, int i, bool wrap, struct vsm_strbuf *sb)
{
	const struct node *n = &p->nodes[i];

	switch (n->kind) {
	case N_AND:
	case N_OR:
		if (wrap)
			vsm_sb_putc(sb, '(');
		for (int c = n->child; c >= 0; c = p->nodes[c].next) {
			if (c != n->child)
				vsm_sb_puts(sb, n->kind == N_AND ? " and " : " or ");
			/* "a or (b or c)" needs no parentheses: only mixed and/or do. */
			emit(p, c, p->nodes[c].kind != n->kind, sb);
		}
		if (wrap)
			vsm_sb_putc(sb, ')');
		break;
	case N_NOT:
		vsm_sb_puts(sb, "not ");
		emit(p, n->child, true, sb);
		break;
	case N_CID:
	case N_PORT:
		emit_addr(sb, n, n->dir);
		break;
	default:
		emit_virtio(sb, n);
		break;
	}
}

/* Parses expr into the libpcap text (*ret_text, malloc'd). Returns 0, -EINVAL or -ENOMEM. */
static int translate(const char *expr, char **ret_text, struct vsm_filter_error *err)
{
	size_t ntok = strlen(expr) + 1;
	struct token *tok = calloc(ntok, sizeof(*tok));
	/* Every node but an and/or group consumes a token, and groups are fewer than primitives. */
	struct node *nodes = calloc(ntok + 1, sizeof(*nodes));
	struct parser p = { .expr = expr, .tok = tok, .nodes = nodes, .err = err };
	struct vsm_strbuf sb;
	int root, r = -ENOMEM;

	vsm_sb_init(&sb);
	if (!tok || !nodes)
		goto out;
	tokenize(expr, tok);
	r = -EINVAL;
	if (tok[0].kind != T_END) {
		root = parse_or(&p);
		if (root < 0)
			goto out;
		if (peek(&p)->kind != T_END) {	/* parse_or stops at ')' or the end */
			fail(&p, peek(&p), "unbalanced parenthesis: ')' has no matching '('");
			goto out;
		}
		emit(&p, root, false, &sb);
	}
	r = -ENOMEM;
	if (sb.oom)
		goto out;
	*ret_text = sb.data ? sb.data : strdup("");
	if (!*ret_text)
		goto out;
	sb.data = NULL;
	r = 0;
out:
	if (r == -ENOMEM)
		snprintf(err->msg, sizeof(err->msg), "out of memory");
	vsm_sb_free(&sb);
	free(nodes);
	free(tok);
	return r;
}

int vsm_filter_compile(const char *expr, uint32_t snaplen, struct vsm_filter **ret_filter,
		       struct vsm_filter_error *ret_err)
{
	struct vsm_filter_error dummy;
	struct vsm_filter_error *err = ret_err ? ret_err : &dummy;
	struct vsm_filter *f;
	pcap_t *pcap;
	int r;

	memset(err, 0, sizeof(*err));
	if (!ret_filter)
		return -EINVAL;
	if (!expr)
		expr = "";
	f = calloc(1, sizeof(*f));
	if (!f) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return -ENOMEM;
	}
	r = translate(expr, &f->text, err);
	if (r < 0) {
		free(f);
		return r;
	}
	/* The snaplen is what the program returns for a match: 0 would reject everything. */
	if (snaplen == 0)
		snaplen = VSM_DEFAULT_SNAPLEN;
	pcap = pcap_open_dead(VSM_LINKTYPE_VSOCK, snaplen < INT_MAX ? (int)snaplen : INT_MAX);
	if (!pcap) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		r = -ENOMEM;
	} else if (pcap_compile(pcap, &f->prog, f->text, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		struct bpf_program plain;

		err->pos = 0;
		err->len = strlen(expr);
		r = -EINVAL;
		/*
		 * The optimizer also fails on a program that can never accept a frame ("op rst and op
		 * rw"), as tcpdump does; found by fuzz-filter. Compiled unoptimized, such a program is
		 * fine: the user's expression is a contradiction, not our bug, and is told so.
		 */
		if (pcap_compile(pcap, &plain, f->text, 0, PCAP_NETMASK_UNKNOWN) == 0) {
			pcap_freecode(&plain);
			snprintf(err->msg, sizeof(err->msg), "the expression matches no packet at all (a field "
				 "cannot have two values: join them with 'or', not 'and')");
		} else {
			/* A bug in the emitter, not in the user's expression: point at all of it. */
			snprintf(err->msg, sizeof(err->msg), "libpcap rejected the generated filter: %s",
				 pcap_geterr(pcap));
		}
	}
	if (pcap)
		pcap_close(pcap);
	if (r < 0) {
		free(f->text);
		free(f);
		return r;
	}
	*ret_filter = f;
	return 0;
}

const char *vsm_filter_pcap_text(const struct vsm_filter *filter)
{
	return filter ? filter->text : "";
}

const void *vsm_filter_bpf(const struct vsm_filter *filter)
{
	return filter ? &filter->prog : NULL;
}

bool vsm_filter_match(const struct vsm_filter *filter, const struct vsm_rec *rec)
{
	struct pcap_pkthdr h;

	if (!filter)
		return true;
	if (!rec || !rec->data)
		return false;
	h = (struct pcap_pkthdr){ .caplen = rec->cap_len,
				  .len = rec->wire_len > rec->cap_len ? rec->wire_len : rec->cap_len };
	return pcap_offline_filter(&filter->prog, &h, rec->data) != 0;
}

void vsm_filter_free(struct vsm_filter *filter)
{
	if (!filter)
		return;
	pcap_freecode(&filter->prog);
	free(filter->text);
	free(filter);
}

/* Bounded writer for vsm_filter_error_format: drops what does not fit, always NUL-terminates. */
struct out {
	char *buf;
	size_t len, n;
};

static void out_putc(struct out *o, char c)
{
	if (o->n + 1 < o->len)
		o->buf[o->n++] = c;
	o->buf[o->n] = '\0';
}

/* UTF-8 continuation bytes take no column, so the caret lands under the right character. */
static bool takes_column(char c)
{
	return ((unsigned char)c & 0xc0) != 0x80;
}

void vsm_filter_error_format(const char *expr, const struct vsm_filter_error *err, char *buf, size_t len)
{
	struct out o = { buf, len, 0 };
	size_t elen, pos, end, carets = 0;

	if (!buf || !len)
		return;
	buf[0] = '\0';
	if (!err)
		return;
	if (!expr)
		expr = "";
	elen = strlen(expr);
	pos = err->pos < elen ? err->pos : elen;
	end = err->len < elen - pos ? pos + err->len : elen;
	for (const char *s = "filter: "; *s; s++)
		out_putc(&o, *s);
	for (const char *s = err->msg; *s; s++)
		out_putc(&o, *s);
	out_putc(&o, '\n');
	out_putc(&o, ' ');
	out_putc(&o, ' ');
	/* Tabs and newlines (from -F files) become spaces to keep the columns. */
	for (size_t i = 0; i < elen; i++)
		out_putc(&o, isspace((unsigned char)expr[i]) ? ' ' : expr[i]);
	out_putc(&o, '\n');
	out_putc(&o, ' ');
	out_putc(&o, ' ');
	for (size_t i = 0; i < pos; i++)
		if (takes_column(expr[i]))
			out_putc(&o, ' ');
	for (size_t i = pos; i < end; i++)
		if (takes_column(expr[i]))
			carets++;
	do
		out_putc(&o, '^');
	while (carets-- > 1);	/* at least one, also for a span at the end */
}
