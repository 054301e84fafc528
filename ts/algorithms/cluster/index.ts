export { kmeans, type KMeansOptions, type KMeansResult } from './kmeans.js';
