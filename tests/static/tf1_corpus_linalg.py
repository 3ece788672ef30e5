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

PROGRAMS["least_squares_solve_cholesky_and_grids"] = """
# least squares three ways (solve, cholesky + triangular solves, inverse), a log-likelihood
# with slogdet, a scatter_nd histogram, meshgrid features and a rolled sequence
x = tf.placeholder(tf.float32, [None, 3], name="x")
y = tf.placeholder(tf.float32, [None, 1], name="y")
xtx = tf.matmul(x, x, transpose_a=True) + 0.1 * tf.eye(3)
xty = tf.matmul(x, y, transpose_a=True)
w_solve = tf.linalg.solve(xtx, xty)
chol = tf.cholesky(xtx)
z = tf.matrix_triangular_solve(chol, xty, lower=True)
w_chol = tf.linalg.triangular_solve(chol, z, lower=True, adjoint=True)
w_inv = tf.matmul(tf.matrix_inverse(xtx), xty)
print(w_solve, chol, w_chol, tf.matrix_determinant(xtx), tf.linalg.det(xtx).shape)
sign, logdet = tf.linalg.slogdet(xtx)
nll = 0.5 * logdet + 0.5 * tf.reduce_sum(xty * tf.matrix_solve(xtx, xty))
grad = tf.gradients(nll, x)[0]
counts = tf.scatter_nd([[0], [2], [2], [4]], tf.constant([1.0, 2.0, 3.0, 4.0]), [5])
gx, gy = tf.meshgrid(tf.linspace(0.0, 1.0, 3), tf.constant([10.0, 20.0]))
ii, jj = tf.meshgrid(tf.range(2), tf.range(3), indexing="ij")
seq = tf.reshape(tf.range(12), [3, 4])
print(counts, tf.roll(seq, shift=1, axis=1), gx.shape, ii.shape)
print(tf.random_shuffle(seq).shape, tf.multinomial(tf.zeros([2, 5]), 7).shape,
      tf.multinomial(tf.zeros([2, 5]), 7).dtype, tf.random.categorical(tf.zeros([1, 3]), 2))
feed = {x: np.array([[1.0, 0.5, -1.0], [0.3, 2.0, 0.1], [1.5, -0.2, 0.7], [0.0, 1.0, 1.0]],
                    np.float32),
        y: np.array([[1.0], [2.0], [0.5], [-1.0]], np.float32)}
with tf.Session() as sess:
    print(sess.run([w_solve, w_chol, w_inv], feed))
    print(sess.run([chol, tf.matrix_determinant(xtx), sign, logdet], feed))
    print(sess.run([nll, grad], feed))
    print(sess.run([counts, tf.roll(seq, [1, -1], [0, 1]), gx, gy, ii, jj]))
    print(sess.run(tf.reduce_sum(tf.random_shuffle(seq))),
          sorted(sess.run(tf.random.shuffle(tf.range(5)))))
    m = tf.placeholder(tf.float32, [2, 2], name="m")
    raises(lambda: sess.run(tf.linalg.solve(m, tf.ones([2, 1])), {m: np.zeros((2, 2))}),
           "Input matrix is not invertible.")
    print(sess.run(tf.cholesky(m), {m: np.array([[1.0, 2.0], [2.0, 1.0]])}))
"""
