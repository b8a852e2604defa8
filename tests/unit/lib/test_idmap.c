/* test_idmap.c — the id hash table against a plain array model, with many deletions. */
#include <stdlib.h>

#include "lib/idmap.h"
#include "test.h"

#define N 20000

int main(void)
{
	struct idmap m = { 0 };
	static int present[N];
	static int values[N];
	unsigned seed = 7;
	int mismatches = 0, put_failures = 0;

	for (int round = 0; round < 200000; round++) {
		seed = seed * 1103515245u + 12345u;
		int k = (int)((seed >> 8) % N);
		uint64_t id = 1000000 + (uint64_t)k * 3; /* inode-like: clustered */
		if ((seed >> 4) & 1) {
			put_failures += idmap_put(&m, id, &values[k]) != 0;
			present[k] = 1;
		} else {
			idmap_del(&m, id);
			present[k] = 0;
		}
		if (round % 997 == 0) {
			size_t count = 0;
			for (int i = 0; i < N; i++) {
				void *got = idmap_get(&m, 1000000 + (uint64_t)i * 3);
				if ((got != NULL) != present[i] || (got && got != &values[i]))
					mismatches++;
				count += present[i];
			}
			if (count != m.len)
				mismatches++;
		}
	}
	CHECK(put_failures == 0, "%d puts failed", put_failures);
	CHECK(mismatches == 0, "%d mismatches against the model", mismatches);
	CHECK(idmap_get(&m, 42) == NULL, "absent id");
	idmap_free(&m);
	CHECK(m.len == 0 && idmap_get(&m, 1000000) == NULL, "freed map is empty");
	return test_summary("lib/test_idmap");
}
