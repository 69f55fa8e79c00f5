// PostgREST behaviours beyond plain CRUD, as @supabase/postgrest-js asks for them: spreads,
// aggregates, embedding hints, CSV, Prefer: timezone, execution plans and GeoJSON. Run through
// tools/gateway/run-js-tests.sh, which starts the gateway with aggregates and plans enabled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PostgrestClient } from '@supabase/postgrest-js';

const url = process.env.GATEWAY_URL;
if (!url) throw new Error('GATEWAY_URL is not set: run tools/gateway/run-js-tests.sh');
const anon = new PostgrestClient(url);

test('spread: to-one columns join the row, to-many columns become arrays', async () => {
  const toOne = await anon.from('books').select('title, ...authors(author:name)').eq('id', 1).single();
  assert.equal(toOne.error, null);
  assert.deepEqual(toOne.data, { title: 'A Wizard of Earthsea', author: 'Ursula' });
  const toMany = await anon
    .from('authors')
    .select('name, ...books(titles:title)')
    .eq('id', 2)
    .order('id', { referencedTable: 'books' })
    .single();
  assert.equal(toMany.error, null);
  assert.deepEqual(toMany.data, { name: 'Terry', titles: ['Guards! Guards!', 'Going Postal'] });
});

test('aggregates: sum, grouped count, casts, aliases and embedded', async () => {
  const sum = await anon.from('books').select('price.sum()');
  assert.equal(sum.error, null);
  assert.deepEqual(sum.data, [{ sum: 45.49 }]);
  const grouped = await anon.from('books').select('author_id, count()').not('author_id', 'is', null).order('author_id');
  assert.deepEqual(grouped.data, [
    { author_id: 1, count: 2 },
    { author_id: 2, count: 2 },
    { author_id: 3, count: 1 },
  ]);
  const named = await anon.from('books').select('total:price.sum()::int, newest:year.max()').single();
  assert.deepEqual(named.data, { total: 45, newest: 2010 });
  const embedded = await anon.from('authors').select('name, books(count())').eq('id', 1).single();
  assert.deepEqual(embedded.data, { name: 'Ursula', books: [{ count: 2 }] });
});

test('aggregates in a to-one spread are hoisted to the parent, grouped by spread columns', async () => {
  const byCity = await anon.from('orders').select('amount.sum(), ...shoppers(city)').order('shoppers(city)');
  assert.equal(byCity.error, null);
  assert.deepEqual(byCity.data, [
    { sum: 5, city: 'LA' },
    { sum: 37, city: 'NY' },
    { sum: 100, city: null },
  ]);
  const hoisted = await anon.from('orders').select('placed_on, ...shoppers(first:joined_on.min())').order('placed_on');
  assert.deepEqual(hoisted.data, [
    { placed_on: '2026-01-01', first: '2020-01-01' },
    { placed_on: '2026-01-02', first: '2019-03-01' },
  ]);
  const toMany = await anon.from('shoppers').select('name, ...orders(amount.sum())');
  assert.equal(toMany.status, 400);
  assert.equal(toMany.error.code, 'PGRST127');
});

test('hints: by foreign key column, by constraint, and the ambiguity error', async () => {
  const byColumn = await anon
    .from('messages')
    .select('body, from:members!sender_id(name), to:members!recipient_id(name)')
    .eq('id', 1)
    .single();
  assert.equal(byColumn.error, null);
  assert.deepEqual(byColumn.data, { body: 'hi bea', from: { name: 'ada' }, to: { name: 'bea' } });
  const byConstraint = await anon.from('messages').select('body, members!messages_sender_id_fkey(name)').eq('id', 2).single();
  assert.deepEqual(byConstraint.data, { body: 'hi ada', members: { name: 'bea' } });
  const ambiguous = await anon.from('messages').select('body, members(name)');
  assert.equal(ambiguous.status, 300);
  assert.equal(ambiguous.error.code, 'PGRST201');
  assert.equal(ambiguous.error.details.length, 2);
  const selfReference = await anon.from('members').select('name, mentor:mentor_id(name)').eq('id', 4).single();
  assert.deepEqual(selfReference.data, { name: 'dee', mentor: { name: 'bea' } });
});

test('csv', async () => {
  const { data, error, status } = await anon.from('books').select('id, title').in('id', [1, 5]).order('id').csv();
  assert.equal(error, null);
  assert.equal(status, 200);
  assert.equal(data, 'id,title\n1,"A Wizard of Earthsea"\n5,Kindred');
});

test('Prefer: timezone', async () => {
  const zoned = await anon
    .from('messages')
    .select('sent_at')
    .eq('id', 1)
    .setHeader('Prefer', 'timezone=Asia/Tokyo')
    .single();
  assert.equal(zoned.error, null);
  assert.equal(zoned.data.sent_at, '2026-03-01T21:00:00+09:00');
});

test('explain', async () => {
  const text = await anon.from('books').select('id').eq('id', 1).explain();
  assert.equal(text.error, null);
  assert.match(text.data, /cost=/);
  const json = await anon.from('books').select('id').eq('id', 1).explain({ format: 'json', analyze: true });
  assert.equal(json.error, null);
  assert.equal(typeof json.data[0]['Execution Time'], 'number');
});

test('geojson: rows as a FeatureCollection through PostGIS', async () => {
  const { data, error, status } = await anon.from('shops').select('id, address, shop_geom').in('id', [1, 2]).order('id').geojson();
  assert.equal(error, null);
  assert.equal(status, 200);
  assert.deepEqual(data, {
    type: 'FeatureCollection',
    features: [
      { type: 'Feature', geometry: { type: 'Point', coordinates: [-71.10044, 42.373695] }, properties: { id: 1, address: '1369 Cambridge St' } },
      { type: 'Feature', geometry: { type: 'Point', coordinates: [-71.10543, 42.366432] }, properties: { id: 2, address: '757 Massachusetts Ave' } },
    ],
  });
  const missing = await anon.from('authors').select('id').geojson();
  assert.equal(missing.status, 400);
  assert.equal(missing.error.code, '22023');
});
