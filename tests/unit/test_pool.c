/*
 * tests/unit/test_pool.c: fixed-size object pools (core/pool.c): reuse before
 * growth, the ceiling as a counted refusal, reserve, footprint by whole chunks,
 * alignment, and destroy releasing everything (the sanitizer build checks leaks).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/pool.h"
#include "tern/errors.h"

static void test_init_allocates_nothing(void **state)
{
	(void)state;
	struct tern_pool p;
	tern__pool_init(&p, 100, 8, 0);
	assert_int_equal(tern__pool_footprint(&p), 0);
	assert_int_equal(p.capacity, 0);
	assert_int_equal(p.in_use, 0);
	assert_int_equal(p.obj_size % alignof(max_align_t), 0);
	assert_true(p.obj_size >= 100);
	tern__pool_destroy(&p);
}

static void test_get_put_reuse(void **state)
{
	(void)state;
	struct tern_pool p;
	tern__pool_init(&p, 48, 4, 0);
	void *a = tern__pool_get(&p);
	assert_non_null(a);
	size_t one_chunk = tern__pool_footprint(&p);
	assert_true(one_chunk >= 4 * p.obj_size);
	assert_int_equal(p.capacity, 4);
	assert_int_equal(p.in_use, 1);

	/* A returned object is the next one handed out (LIFO), and no chunk is added. */
	tern__pool_put(&p, a);
	assert_int_equal(p.in_use, 0);
	for (int i = 0; i < 1000; i++) {
		void *b = tern__pool_get(&p);
		assert_ptr_equal(b, a);
		memset(b, 0xa5, 48); /* the whole object is the caller's */
		tern__pool_put(&p, b);
	}
	assert_int_equal(tern__pool_footprint(&p), one_chunk);
	assert_int_equal(p.capacity, 4);
	assert_int_equal(p.high_water, 1);

	/* Four live objects are distinct and fit the first chunk; the fifth adds one. */
	void *objs[5];
	for (int i = 0; i < 4; i++)
		objs[i] = tern__pool_get(&p);
	for (int i = 0; i < 4; i++)
		for (int j = i + 1; j < 4; j++)
			assert_ptr_not_equal(objs[i], objs[j]);
	assert_int_equal(tern__pool_footprint(&p), one_chunk);
	objs[4] = tern__pool_get(&p);
	assert_non_null(objs[4]);
	assert_int_equal(tern__pool_footprint(&p), 2 * one_chunk);
	assert_int_equal(p.capacity, 8);
	assert_int_equal(p.high_water, 5);
	assert_int_equal(p.failures, 0);
	for (int i = 0; i < 5; i++)
		tern__pool_put(&p, objs[i]);
	assert_int_equal(p.in_use, 0);
	tern__pool_destroy(&p);
}

static void test_ceiling(void **state)
{
	(void)state;
	struct tern_pool p;
	tern__pool_init(&p, 32, 4, 6); /* chunks of 4, at most 6 objects */
	void *objs[6];
	for (int i = 0; i < 6; i++) {
		objs[i] = tern__pool_get(&p);
		assert_non_null(objs[i]);
	}
	/* The second chunk was cut to 2 objects: capacity never passes the ceiling. */
	assert_int_equal(p.capacity, 6);
	assert_null(tern__pool_get(&p));
	assert_null(tern__pool_get(&p));
	assert_int_equal(p.failures, 2);
	assert_int_equal(p.in_use, 6);
	/* One back: one more may be had, then the ceiling again. */
	tern__pool_put(&p, objs[3]);
	void *again = tern__pool_get(&p);
	assert_ptr_equal(again, objs[3]);
	assert_null(tern__pool_get(&p));
	assert_int_equal(p.failures, 3);
	assert_int_equal(p.high_water, 6);
	for (int i = 0; i < 6; i++)
		tern__pool_put(&p, objs[i]);
	tern__pool_destroy(&p);
}

static void test_reserve(void **state)
{
	(void)state;
	struct tern_pool p;
	tern__pool_init(&p, 64, 10, 0);
	assert_int_equal(tern__pool_reserve(&p, 25), 0);
	assert_int_equal(p.capacity, 30); /* whole chunks */
	size_t footprint = tern__pool_footprint(&p);
	struct tern_pool single;
	tern__pool_init(&single, 64, 10, 0);
	assert_int_equal(tern__pool_reserve(&single, 1), 0);
	assert_int_equal(footprint, 3 * tern__pool_footprint(&single));
	tern__pool_destroy(&single);
	void *objs[30];
	for (int i = 0; i < 30; i++)
		objs[i] = tern__pool_get(&p);
	assert_int_equal(tern__pool_footprint(&p), footprint); /* no allocation */
	assert_int_equal(tern__pool_reserve(&p, 30), 0);       /* already there */
	assert_int_equal(tern__pool_footprint(&p), footprint);
	for (int i = 0; i < 30; i++)
		tern__pool_put(&p, objs[i]);
	tern__pool_destroy(&p);

	/* Beyond the ceiling, reserve refuses and allocates nothing. */
	tern__pool_init(&p, 64, 10, 15);
	assert_int_equal(tern__pool_reserve(&p, 16), -TERN_ENOMEM);
	assert_int_equal(tern__pool_footprint(&p), 0);
	assert_int_equal(tern__pool_reserve(&p, 15), 0);
	assert_int_equal(p.capacity, 15);
	tern__pool_destroy(&p);
}

static void test_footprint_by_chunks(void **state)
{
	(void)state;
	struct tern_pool p;
	tern__pool_init(&p, 200, 16, 0);
	void *objs[16 * 5];
	size_t last = 0, chunk = 0;
	for (int i = 0; i < 16 * 5; i++) {
		objs[i] = tern__pool_get(&p);
		size_t now = tern__pool_footprint(&p);
		if (i % 16 == 0) {
			assert_true(now > last); /* a new chunk on every 16th get */
			if (i == 0)
				chunk = now;
			assert_int_equal(now, chunk * (size_t)(i / 16 + 1));
			assert_true(chunk >= 16 * p.obj_size);
			assert_true(chunk < 16 * p.obj_size + 256); /* the header is small */
		} else {
			assert_int_equal(now, last);
		}
		last = now;
	}
	for (int i = 0; i < 16 * 5; i++)
		tern__pool_put(&p, objs[i]);
	assert_int_equal(tern__pool_footprint(&p), last); /* kept until destroy */
	tern__pool_destroy(&p);
	assert_int_equal(tern__pool_footprint(&p), 0);
}

static void test_default_chunk(void **state)
{
	(void)state;
	struct tern_pool p;
	tern__pool_init(&p, 100, 0, 0);
	assert_true(p.per_chunk > 1);
	void *o = tern__pool_get(&p);
	size_t fp = tern__pool_footprint(&p);
	assert_true(fp <= 65536 && fp > 65536 - p.obj_size);
	tern__pool_put(&p, o);
	tern__pool_destroy(&p);

	/* An object bigger than the default chunk still gets a chunk of one. */
	tern__pool_init(&p, 100000, 0, 0);
	assert_int_equal(p.per_chunk, 1);
	o = tern__pool_get(&p);
	assert_non_null(o);
	memset(o, 0, 100000);
	tern__pool_put(&p, o);
	tern__pool_destroy(&p);
}

static void test_alignment(void **state)
{
	(void)state;
	const size_t sizes[] = { 0, 1, 7, 8, 9, 17, 31, 33, 100, 1500 };
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct tern_pool p;
		tern__pool_init(&p, sizes[s], 7, 0);
		void *objs[20];
		for (int i = 0; i < 20; i++) {
			objs[i] = tern__pool_get(&p);
			assert_non_null(objs[i]);
			assert_int_equal((uintptr_t)objs[i] % alignof(max_align_t), 0);
			if (sizes[s])
				memset(objs[i], i, sizes[s]);
		}
		/* Writing each whole object did not disturb its neighbours. */
		for (int i = 0; i < 20; i++)
			if (sizes[s])
				assert_int_equal(((unsigned char *)objs[i])[sizes[s] - 1], (unsigned char)i);
		for (int i = 0; i < 20; i++)
			tern__pool_put(&p, objs[i]);
		tern__pool_destroy(&p);
	}
}

/* Destroy with objects still out: everything goes back to the allocator (ASan's
 * leak check would report a chunk left behind) and the pool is empty and usable. */
static void test_destroy_releases_all(void **state)
{
	(void)state;
	struct tern_pool p;
	tern__pool_init(&p, 40, 3, 0);
	for (int i = 0; i < 100; i++)
		assert_non_null(tern__pool_get(&p));
	assert_true(tern__pool_footprint(&p) > 0);
	tern__pool_destroy(&p);
	assert_int_equal(tern__pool_footprint(&p), 0);
	assert_int_equal(p.in_use, 0);
	assert_int_equal(p.capacity, 0);
	void *o = tern__pool_get(&p);
	assert_non_null(o);
	tern__pool_put(&p, o);
	tern__pool_destroy(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_allocates_nothing),
		cmocka_unit_test(test_get_put_reuse),
		cmocka_unit_test(test_ceiling),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_footprint_by_chunks),
		cmocka_unit_test(test_default_chunk),
		cmocka_unit_test(test_alignment),
		cmocka_unit_test(test_destroy_releases_all),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
