"""TF1 programs (part 12: the functions a learner meets next: ``tf.nn.top_k``,
``tf.nn.l2_normalize``, ``tf.einsum``, ``tf.tensordot``, the diagonal family, segment sums,
``tf.boolean_mask`` and one-argument ``tf.where``). See tf1_oracle.py for how they are compared."""

PROGRAMS: dict[str, str] = {}

PROGRAMS["embeddings_topk_and_segments"] = """
# cosine-similarity nearest neighbours, per-sentence bag of words, a masked loss
emb = tf.Variable(np.linspace(-1.0, 1.0, 18).reshape(6, 3).astype(np.float32) ** 3, name="emb")
query = tf.placeholder(tf.float32, [None, 3], name="query")
unit = tf.nn.l2_normalize(emb, axis=1)
q = tf.math.l2_normalize(query, 1)
sim = tf.einsum("qd,vd->qv", q, unit)
best = tf.nn.top_k(sim, k=3)
print(unit, sim, best.values, best.indices.shape, best.indices.dtype)
words = tf.constant([0, 2, 2, 5, 1, 3])
sentence = tf.constant([0, 0, 1, 1, 1, 3])
vecs = tf.gather(emb, words)
bag = tf.segment_sum(vecs, sentence)
avg = tf.segment_mean(vecs, sentence)
by_word = tf.unsorted_segment_sum(vecs, words, 6)
print(bag, avg, by_word)
gram = tf.tensordot(emb, emb, [[1], [1]])
print(gram, tf.trace(gram), tf.diag_part(gram), tf.matrix_diag(tf.diag_part(gram))[2:4])
scores = tf.matmul(query, tf.matrix_transpose(emb))
positive = tf.boolean_mask(scores, scores > 0.0)
where = tf.where(scores > 0.0)
loss = tf.reduce_sum(tf.square(positive)) + tf.reduce_sum(bag * avg) + tf.trace(gram)
grad = tf.gradients(loss, emb)[0]
print(positive, where, tf.broadcast_to(tf.constant([1.0, 2.0, 3.0]), [2, 3]))
feed = {query: np.array([[0.2, -0.5, 1.0], [1.0, 0.0, 0.1]], np.float32)}
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    print(sess.run([best.values, best.indices], feed))
    print(sess.run([bag, avg, by_word]))
    print(sess.run([tf.trace(gram), tf.diag(tf.constant([1.0, 2.0]))]))
    print(sess.run([positive, where, loss], feed))
    print(sess.run(grad, feed))
    raises(lambda: tf.nn.top_k(emb, 4), "input must have last dimension >= k = 4 but is 3")
    raises(lambda: sess.run(tf.segment_sum(vecs, tf.constant([1, 0, 0, 2, 2, 2]))),
           "segment ids are not increasing")
"""
