/* test_health.c — /api/nodes and /api/overview to the broker health figures: what is given,
 * what is missing (a node that is down), what is refused. */
#include <errno.h>
#include <string.h>

#include "rabbitmq/health.h"
#include "test.h"

static int parse(const char *nodes, const char *ov, struct rmq_health *h)
{
	return rmq_health_parse(nodes, strlen(nodes), ov, strlen(ov), h);
}

int main(void)
{
	struct rmq_health h = { 0 };
	/* as 3.10.8 answers with the columns asked for; the second node is down */
	int rc = parse(
		"[{\"name\":\"rabbit@a\",\"running\":true,\"mem_used\":150,\"mem_limit\":1000,"
		"\"mem_alarm\":false,\"disk_free\":9,\"disk_free_limit\":5,"
		"\"disk_free_alarm\":true,\"fd_used\":35,\"fd_total\":20000,"
		"\"sockets_used\":0,\"sockets_total\":17910},"
		"{\"name\":\"rabbit@b\",\"running\":false},{\"running\":true}]",
		"{\"object_totals\":{\"connections\":2,\"channels\":3,\"consumers\":-1}}", &h);
	CHECK(rc == 0 && h.n == 2, "rc %d, %zu nodes (the nameless one skipped)", rc, h.n);
	if (h.n == 2) {
		CHECK_STR(h.nodes[0].name, "rabbit@a");
		CHECK(h.nodes[0].present == (1u << RMQ_NODE_NVALUES) - 1, "all given: %x",
		      h.nodes[0].present);
		CHECK(h.nodes[0].v[RMQ_NODE_DISK_FREE_ALARM] == 1 &&
			      h.nodes[0].v[RMQ_NODE_MEM_ALARM] == 0 &&
			      h.nodes[0].v[RMQ_NODE_FD_TOTAL] == 20000,
		      "flags as 0/1, numbers as they are");
		CHECK(h.nodes[1].present == (1u << RMQ_NODE_RUNNING) &&
			      h.nodes[1].v[RMQ_NODE_RUNNING] == 0,
		      "a node that is down: running 0 and nothing else (%x)", h.nodes[1].present);
	}
	CHECK(h.totals_present == ((1u << RMQ_TOTAL_CONNECTIONS) | (1u << RMQ_TOTAL_CHANNELS)) &&
		      h.totals[RMQ_TOTAL_CHANNELS] == 3,
	      "totals: a negative count left out (%x)", h.totals_present);
	rmq_health_free(&h);
	CHECK(h.n == 0 && !h.nodes, "free leaves it empty");

	CHECK(parse("{\"error\":\"x\"}", "{\"object_totals\":{}}", &h) == -EPROTO && h.n == 0,
	      "not a node list");
	CHECK(parse("[]", "[1]", &h) == -EPROTO, "an overview without object_totals");
	CHECK(parse("[{\"name\":", "{\"object_totals\":{}}", &h) == -EPROTO, "cut short");
	CHECK(parse("[]", "{\"object_totals\":{}}", &h) == 0 && h.n == 0, "no nodes: 0");
	rmq_health_free(&h);
	return test_summary("test_health");
}
