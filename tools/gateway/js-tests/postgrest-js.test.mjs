// @supabase/postgrest-js, the client supabase-js uses, against a running gateway loaded with
// tools/gateway/tests/fixture.sql. Run through tools/gateway/run-js-tests.sh, which sets
// GATEWAY_URL (e.g. http://127.0.0.1:56010/rest/v1) and starts everything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { PostgrestClient } from '@supabase/postgrest-js';

const url = process.env.GATEWAY_URL;
const secret = process.env.GATEWAY_JWT_SECRET ?? 'super-secret-jwt-token-with-at-least-32-characters-long';
if (!url) throw new Error('GATEWAY_URL is not set: run tools/gateway/run-js-tests.sh');

const ALICE = '11111111-1111-1111-1111-111111111111';
const BOB = '22222222-2222-2222-2222-222222222222';

function sign(claims) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`;
  const signature = createHmac('sha256', secret).update(unsigned).digest('base64url');
  return `${unsigned}.${signature}`;
}

const asUser = (sub) =>
  new PostgrestClient(url, {
    headers: {
      Authorization: `Bearer ${sign({ sub, role: 'gw_authenticated', aud: 'authenticated', exp: Math.floor(Date.now() / 1000) + 600 })}`,
    },
  });
const anon = new PostgrestClient(url);
const unique = (prefix) => `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

test('select with filters, embedding, order and range', async () => {
  const { data, error, count, status } = await anon
    .from('books')
    .select('id, title, author:authors(name)', { count: 'exact' })
    .gte('year', 1960)
    .in('id', [1, 2, 3, 4])
    .not('price', 'is', null)
    .order('id', { ascending: false })
    .range(0, 1);
  assert.equal(error, null);
  assert.equal(status, 206);
  assert.equal(count, 4);
  assert.deepEqual(data, [
    { id: 4, title: 'Going Postal', author: { name: 'Terry' } },
    { id: 3, title: 'Guards! Guards!', author: { name: 'Terry' } },
  ]);
});

test('or, contains, ilike and full-text search', async () => {
  const either = await anon.from('books').select('id').or('year.eq.1968,title.ilike.*postal*').order('id');
  assert.deepEqual(either.data, [{ id: 1 }, { id: 4 }]);
  const comedy = await anon.from('books').select('id').contains('genres', ['comedy']).order('id');
  assert.deepEqual(comedy.data, [{ id: 3 }, { id: 4 }]);
  const search = await anon.from('books').select('id').textSearch('body_tsv', 'dragon', { type: 'websearch', config: 'english' });
  assert.deepEqual(search.data, [{ id: 3 }]);
  const embedded = await anon.from('authors').select('name, books(title)').eq('id', 2).order('title', { referencedTable: 'books' }).limit(1, { referencedTable: 'books' });
  assert.deepEqual(embedded.data, [{ name: 'Terry', books: [{ title: 'Going Postal' }] }]);
});

test('single and maybeSingle', async () => {
  const one = await anon.from('books').select('title').eq('id', 5).single();
  assert.deepEqual(one.data, { title: 'Kindred' });
  const none = await anon.from('books').select('title').eq('id', 999).single();
  assert.equal(none.status, 406);
  assert.equal(none.error.code, 'PGRST116');
  const maybe = await anon.from('books').select('title').eq('id', 999).maybeSingle();
  assert.equal(maybe.error, null);
  assert.equal(maybe.data, null);
});

test('head count', async () => {
  const { count, data, error } = await anon.from('books').select('*', { count: 'exact', head: true });
  assert.equal(error, null);
  assert.equal(data, null);
  assert.equal(count, 6);
});

test('insert, upsert, update and delete', async () => {
  const name = unique('js-item');
  const inserted = await anon.from('items').insert({ name, qty: 1 }).select('name, qty, note').single();
  assert.equal(inserted.error, null);
  assert.equal(inserted.status, 201);
  assert.deepEqual(inserted.data, { name, qty: 1, note: 'none' });

  const rows = [{ name: `${name}-a` }, { name: `${name}-b`, qty: 2 }];
  const nulls = await anon.from('items').insert(rows);
  assert.equal(nulls.error.code, '23502', 'by default a missing key is NULL, as in PostgREST');
  const bulk = await anon.from('items').insert(rows, { defaultToNull: false }).select('name, qty').order('name');
  assert.equal(bulk.error, null);
  assert.deepEqual(bulk.data, [{ name: `${name}-a`, qty: 7 }, { name: `${name}-b`, qty: 2 }], 'missing=default: missing keys take the column default');

  const upserted = await anon.from('items').upsert({ name, qty: 10 }, { onConflict: 'name' }).select('qty').single();
  assert.equal(upserted.error, null);
  assert.equal(upserted.data.qty, 10);
  const ignored = await anon.from('items').upsert({ name, qty: 99 }, { onConflict: 'name', ignoreDuplicates: true }).select('qty');
  assert.deepEqual(ignored.data, []);

  const updated = await anon.from('items').update({ note: 'updated' }).like('name', `${name}-*`).select('note');
  assert.deepEqual(updated.data, [{ note: 'updated' }, { note: 'updated' }]);

  const removed = await anon.from('items').delete({ count: 'exact' }).like('name', `${name}*`);
  assert.equal(removed.error, null);
  assert.equal(removed.count, 3);
  const gone = await anon.from('items').select('id').like('name', `${name}*`);
  assert.deepEqual(gone.data, []);

  const duplicate = await anon.from('items').insert([{ name: 'dup-js' }, { name: 'dup-js' }]);
  assert.equal(duplicate.status, 409);
  assert.equal(duplicate.error.code, '23505');
});

test('rpc: scalar, GET, setof with filters, void', async () => {
  const sum = await anon.rpc('add', { a: 20, b: 22 });
  assert.equal(sum.data, 42);
  const hello = await anon.rpc('hello', { name: 'js' }, { get: true });
  assert.equal(hello.data, 'hello js');
  const books = await anon.rpc('books_since', { min_year: 1960 }).select('id').contains('genres', ['classic']).order('id');
  assert.deepEqual(books.data, [{ id: 1 }, { id: 2 }]);
  const composite = await anon.rpc('book_by_id', { book_id: 3 }).select('title');
  assert.deepEqual(composite.data, { title: 'Guards! Guards!' });
  const name = unique('js-restock');
  await anon.from('items').insert({ name, qty: 1 });
  const restock = await anon.rpc('restock', { item_name: name, amount: 2 });
  assert.equal(restock.status, 204);
  assert.equal(restock.error, null);
  const after = await anon.from('items').select('qty').eq('name', name).single();
  assert.equal(after.data.qty, 3);
  const missing = await anon.rpc('no_such_function');
  assert.equal(missing.error.code, 'PGRST202');
});

test('RLS: each user sees and changes only their own rows; anon is refused', async () => {
  const alice = asUser(ALICE);
  const bob = asUser(BOB);
  const mine = await alice.from('todos').select('owner');
  assert.ok(mine.data.length > 0);
  assert.ok(mine.data.every((row) => row.owner === ALICE));
  const created = await bob.from('todos').insert({ title: unique('bob') }).select('id, owner').single();
  assert.equal(created.data.owner, BOB);
  const hijack = await alice.from('todos').update({ title: 'stolen' }).eq('id', created.data.id).select();
  assert.deepEqual(hijack.data, []);
  const denied = await anon.from('todos').select('*');
  assert.equal(denied.status, 401);
  assert.equal(denied.error.code, '42501');
  const cleanup = await bob.from('todos').delete().eq('id', created.data.id);
  assert.equal(cleanup.status, 204);
});
